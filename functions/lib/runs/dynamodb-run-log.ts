// DynamoDB adapter of the run log. One table keyed (runId, item):
//   {runId} / RUN            the run: status, model, trainer, dataset, version or error
//   {runId} / STEP#{step}    one item per step: status, timings, attempts, output, error
// Every write is an UpdateItem upsert on a deterministic key, so retries rewrite, never add.
import { type DynamoDBDocumentClient, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RecordedError, RunLog, RunRecord, StepRecord } from './run-log.ts';
import { PIPELINE_STEPS, type PipelineStep, type TrainingRunInput } from './training-run.ts';

const RUN = 'RUN';
const stepItem = (step: PipelineStep) => `STEP#${step}`;

/** Build `SET a = :a, …` from the defined entries of `values` (names escaped: `status` is reserved). */
function setClause(values: Record<string, unknown>) {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined);
  return {
    expression: entries.map(([k]) => `#${k} = :${k}`).join(', '),
    names: Object.fromEntries(entries.map(([k]) => [`#${k}`, k])),
    values: Object.fromEntries(entries.map(([k, v]) => [`:${k}`, v])),
  };
}

export class DynamoDbRunLog implements RunLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async stepStarted(run: TrainingRunInput, step: PipelineStep): Promise<void> {
    const at = this.now().toISOString();
    await this.update(run.runId, RUN, {
      set: {
        status: 'RUNNING',
        model: run.model,
        trainer: run.trainer,
        datasetUri: run.datasetUri,
        requestedBy: run.requestedBy,
        updatedAt: at,
      },
      // The first step of a re-run starts the run over; later steps keep its start time.
      extra:
        step === PIPELINE_STEPS[0] ? ', #startedAt = :at' : ', #startedAt = if_not_exists(#startedAt, :at)',
      extraNames: { '#startedAt': 'startedAt' },
      extraValues: { ':at': at },
      remove: ['finishedAt', 'failedStep', 'error', ...(step === PIPELINE_STEPS[0] ? ['version'] : [])],
    });
    await this.update(run.runId, stepItem(step), {
      set: { status: 'RUNNING', step, startedAt: at },
      extra: ', #attempts = if_not_exists(#attempts, :zero) + :one',
      extraNames: { '#attempts': 'attempts' },
      extraValues: { ':zero': 0, ':one': 1 },
      remove: ['finishedAt', 'durationMs', 'error', 'output'],
    });
  }

  async stepSucceeded(
    runId: string,
    step: PipelineStep,
    outcome: { durationMs: number; output?: string },
  ): Promise<void> {
    await this.update(runId, stepItem(step), {
      set: {
        status: 'SUCCEEDED',
        finishedAt: this.now().toISOString(),
        durationMs: outcome.durationMs,
        output: outcome.output,
      },
    });
  }

  async stepFailed(
    runId: string,
    step: PipelineStep,
    outcome: { durationMs: number; error: RecordedError; willRetry: boolean },
  ): Promise<void> {
    await this.update(runId, stepItem(step), {
      set: {
        status: outcome.willRetry ? 'RETRYING' : 'FAILED',
        finishedAt: this.now().toISOString(),
        durationMs: outcome.durationMs,
        error: outcome.error,
      },
    });
  }

  async runSucceeded(runId: string, outcome: { version: number }): Promise<void> {
    const at = this.now().toISOString();
    await this.update(runId, RUN, {
      set: { status: 'SUCCEEDED', version: outcome.version, finishedAt: at, updatedAt: at },
    });
  }

  async runFailed(runId: string, outcome: { step?: string; error: RecordedError }): Promise<void> {
    const at = this.now().toISOString();
    await this.update(runId, RUN, {
      set: {
        status: 'FAILED',
        failedStep: outcome.step,
        error: outcome.error,
        finishedAt: at,
        updatedAt: at,
      },
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'runId = :r',
          ExpressionAttributeValues: { ':r': runId },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const run = items.find((i) => i.item === RUN);
    if (!run) return undefined;
    // A re-run restarts the run (its first step resets startedAt); steps left from the earlier
    // execution that this one has not reached yet are not part of it.
    const startedAt = String(run.startedAt ?? '');
    const steps = items
      .filter((i) => String(i.item).startsWith('STEP#') && String(i.startedAt ?? '') >= startedAt)
      .map((i) => withoutKeys(i) as unknown as StepRecord)
      .sort((a, b) => PIPELINE_STEPS.indexOf(a.step) - PIPELINE_STEPS.indexOf(b.step));
    return { ...(withoutKeys(run) as unknown as Omit<RunRecord, 'steps'>), runId, steps };
  }

  async listRuns(opts: { model?: string; limit?: number } = {}): Promise<RunRecord[]> {
    // Run logs are small (one item per run and step); a scan of RUN items is fine at this scale.
    const runs: RunRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: opts.model ? '#item = :run AND #model = :m' : '#item = :run',
          ExpressionAttributeNames: { '#item': 'item', ...(opts.model ? { '#model': 'model' } : {}) },
          ExpressionAttributeValues: { ':run': RUN, ...(opts.model ? { ':m': opts.model } : {}) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        runs.push({ ...(withoutKeys(item) as unknown as RunRecord), runId: String(item.runId), steps: [] });
      start = page.LastEvaluatedKey;
    } while (start);
    runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return runs.slice(0, opts.limit ?? 20);
  }

  private async update(
    runId: string,
    item: string,
    change: {
      set: Record<string, unknown>;
      extra?: string;
      extraNames?: Record<string, string>;
      extraValues?: Record<string, unknown>;
      remove?: string[];
    },
  ): Promise<void> {
    const set = setClause(change.set);
    const remove = (change.remove ?? []).filter((k) => !(k in change.set));
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { runId, item },
        UpdateExpression: `SET ${set.expression}${change.extra ?? ''}${
          remove.length > 0 ? ` REMOVE ${remove.map((k) => `#${k}`).join(', ')}` : ''
        }`,
        ExpressionAttributeNames: {
          ...set.names,
          ...change.extraNames,
          ...Object.fromEntries(remove.map((k) => [`#${k}`, k])),
        },
        ExpressionAttributeValues: { ...set.values, ...change.extraValues },
      }),
    );
  }
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { item: _item, ...rest } = item;
  return rest;
}
