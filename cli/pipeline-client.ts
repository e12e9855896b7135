// Starts a training pipeline run and follows it to the end, step by step, with the same SDK
// calls against the local platform and AWS: StartExecution / DescribeExecution on Step
// Functions, and the run log (DynamoDB) for per-step status. Used by `mlops train` and by
// `npm start`'s first-run bootstrap.
import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { RunLog, RunRecord, StepRecord } from '../functions/lib/runs/run-log.ts';
import type { TrainingRunInput } from '../functions/lib/runs/training-run.ts';

export interface PipelineClients {
  readonly sfn: SFNClient;
  readonly runLog: RunLog;
}

/** Input of a run as a caller writes it (defaults are filled by the pipeline). */
export type TrainingRunRequest = Partial<TrainingRunInput> &
  Pick<TrainingRunInput, 'runId' | 'model' | 'datasetUri' | 'featureSet'>;

/** How a run ended. */
export interface RunOutcome {
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  readonly executionArn: string;
  /** The registered version (execution output) when the run succeeded. */
  readonly registration?: { version: number; stage: string; artifactUri: string };
  readonly error?: string;
  readonly cause?: string;
  readonly run?: RunRecord;
}

/** A fresh run id: `{model}-{UTC yyyymmdd-hhmmss}-{4 hex}` (fits the 57-character rule). */
export function newRunId(model: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${model.slice(0, 36)}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * Start the run; its execution is named after the run id. Re-running a run id (after a failure,
 * or to reproduce it) starts a new execution `{runId}-rerun-{hex}`: execution names are unique,
 * and the steps overwrite the run's outputs with the same bytes.
 */
export async function startTrainingRun(
  clients: PipelineClients,
  stateMachineArn: string,
  request: TrainingRunRequest,
): Promise<string> {
  const start = (name: string) =>
    clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) }));
  let out: Awaited<ReturnType<typeof start>>;
  try {
    out = await start(request.runId);
  } catch (err) {
    if (!(err instanceof ExecutionAlreadyExists)) throw err;
    out = await start(`${request.runId}-rerun-${randomBytes(2).toString('hex')}`);
  }
  if (!out.executionArn) throw new Error('StartExecution returned no execution ARN');
  return out.executionArn;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll until the execution ends, calling `onStep` whenever a step's status or attempt count
 * changes (a step retried after a throttle shows up again as RUNNING with attempts + 1).
 */
export async function followTrainingRun(
  clients: PipelineClients,
  run: { executionArn: string; runId: string },
  onStep: (step: StepRecord) => void = () => undefined,
  opts: { pollMs?: number; timeoutMs?: number } = {},
): Promise<RunOutcome> {
  const seen = new Map<string, string>();
  const deadline = Date.now() + (opts.timeoutMs ?? 6 * 3600_000);
  const report = (record: RunRecord | undefined) => {
    for (const step of record?.steps ?? []) {
      const key = `${step.status}#${step.attempts}`;
      if (seen.get(step.step) === key) continue;
      seen.set(step.step, key);
      onStep(step);
    }
  };
  for (;;) {
    const execution = await clients.sfn.send(
      new DescribeExecutionCommand({ executionArn: run.executionArn }),
    );
    const record = await clients.runLog.getRun(run.runId);
    report(record);
    const status = execution.status;
    if (status && status !== 'RUNNING' && status !== 'PENDING_REDRIVE') {
      return {
        status: status as RunOutcome['status'],
        executionArn: run.executionArn,
        ...(status === 'SUCCEEDED' && execution.output
          ? { registration: JSON.parse(execution.output) as RunOutcome['registration'] }
          : {}),
        ...(execution.error ? { error: execution.error } : {}),
        ...(execution.cause ? { cause: execution.cause } : {}),
        ...(record ? { run: record } : {}),
      };
    }
    if (Date.now() > deadline) throw new Error(`run ${run.runId} still running after the wait limit`);
    await sleep(opts.pollMs ?? 500);
  }
}

/** One line per step update, e.g. `  ✓ validate        0.4 s  s3://…/report.json`. */
export function formatStep(step: StepRecord): string {
  const mark = { RUNNING: '…', SUCCEEDED: '✓', FAILED: '✗', RETRYING: '↻' }[step.status];
  const seconds = step.durationMs === undefined ? '' : `${(step.durationMs / 1000).toFixed(1)} s`;
  const attempt = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
  const detail =
    step.status === 'SUCCEEDED'
      ? (step.output ?? '')
      : step.error
        ? `${step.error.name}: ${step.error.message.split('\n')[0]}`
        : '';
  return `  ${mark} ${step.step.padEnd(15)} ${seconds.padStart(7)}${attempt}  ${detail}`.trimEnd();
}
