// The continuous-training loop on the local runtime: labelled recent flights dropped as ground
// truth, the retraining state machine started through the Step Functions API under the name the
// drift check derives, the challenger trained by a nested execution of the training pipeline,
// compared with the seed champion on one holdout, and the decision made both ways and published.
// A second start under the same name never starts a second retraining.
import { readFileSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDepartureTime } from '../../functions/lib/features/departure-time.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import {
  type RetrainingRequest,
  retrainingExecutionName,
} from '../../functions/lib/retraining/retraining-request.ts';
import { groundTruthPartitionPrefix } from '../../functions/lib/storage/s3-layout.ts';
import { platformStack, SEED } from '../../local/bootstrap.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { LOCAL_CREDENTIALS } from '../../local/emulators/local-aws.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';
import { flightsRawRows, type RawFlightRow } from '../support/training-run.ts';

let t: TestPlatform;
let sfn: SFNClient;
let registry: DynamoDbModelRegistry;
let outputs: Record<string, string>;

beforeAll(async () => {
  t = await bootTestPlatform();
  outputs = platformStack(t.platform).outputs;
  registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb)),
    outputs.RegistryTableName ?? '',
  );
  sfn = new SFNClient({
    endpoint: t.platform.baseUrl,
    region: 'us-east-1',
    credentials: { ...LOCAL_CREDENTIALS },
  });
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/** Drop `rows` as a ground-truth file of the seed model in partition `dt`. */
async function dropGroundTruth(dt: string, name: string, rows: readonly unknown[]): Promise<void> {
  await localS3Client(t.platform.endpoints.s3).send(
    new PutObjectCommand({
      Bucket: outputs.DataBucketName,
      Key: `${groundTruthPartitionPrefix(SEED.model, dt)}${name}`,
      Body: JSON.stringify(rows),
    }),
  );
}

/** A drift alarm's request for the hour ending at `end`, under the name the drift check gives it. */
function driftRequest(end: string, reason: string, policy: RetrainingRequest['policy'] = {}) {
  const windowEnd = new Date(end);
  const request: RetrainingRequest = {
    model: SEED.model,
    trigger: 'drift',
    window: { start: new Date(windowEnd.getTime() - 3_600_000).toISOString(), end: windowEnd.toISOString() },
    reason,
    // Three days of partitions, so the test's windows do not read each other's ground truth.
    policy: { lookbackDays: 3, ...policy },
  };
  return { name: retrainingExecutionName(SEED.model, windowEnd, 'drift'), input: JSON.stringify(request) };
}

const start = (name: string, input: string) =>
  sfn.send(new StartExecutionCommand({ stateMachineArn: outputs.RetrainingPipelineArn, name, input }));

async function waitForEnd(executionArn: string, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    if (Date.now() > deadline) throw new Error(`${executionArn} still RUNNING after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The messages published to the topic the retraining notifies (the notifications topic). */
function notifications(): Array<{ Subject: string; Message: Record<string, any> }> {
  const topic = outputs.NotificationsTopicArn?.split(':').at(-1) ?? '';
  return readFileSync(t.platform.sns.messageFile(topic), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { Subject: string; Message: string })
    .filter((m) => m.Subject?.startsWith('Retraining '))
    .map((m) => ({ Subject: m.Subject, Message: JSON.parse(m.Message) }));
}

async function trainingExecutions(name: string) {
  const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: outputs.TrainingPipelineArn }));
  return (listed.executions ?? []).filter((e) => e.name === name);
}

/**
 * Flights whose delays changed (concept shift): a new schedule makes weekday departures from
 * 17:00 leave 40 minutes late and weekend flights leave on time, in every region alike. The
 * champion learned the old pattern; a challenger trained on the recent window can learn this one.
 */
function rescheduled(rows: RawFlightRow[]): RawFlightRow[] {
  return rows.map((row) => {
    const departure = parseDepartureTime(row.date);
    if (!departure) return row;
    if (departure.weekday >= 5) return { ...row, delay: 0 };
    return departure.hour >= 17 ? { ...row, delay: 40 } : row;
  });
}

describe('retraining on the local platform', () => {
  it('keeps the champion when a challenger trained on unchanged flights does not beat it by the margin', async () => {
    const rows = flightsRawRows();
    await dropGroundTruth('2026-11-18', 'part-1.json', rows.slice(0, 6_000));
    await dropGroundTruth('2026-11-19', 'part-2.json', rows.slice(6_000, 12_000));
    const { name, input } = driftRequest(
      '2026-11-19T07:00:00Z',
      'distance PSI 0.27 in 2 consecutive windows',
    );

    const { executionArn } = await start(name, input);
    const done = await waitForEnd(executionArn ?? '');

    expect(done.status).toBe('SUCCEEDED');
    const outcome = JSON.parse(done.output ?? '{}');
    expect(outcome).toMatchObject({
      status: 'kept',
      summary: expect.stringMatching(
        /^kept champion v1: challenger v\d+ vs champion v1: holdout AUC 0\.\d{3} vs 0\.\d{3}, [+−]0\.\d{3}, less than the \+0\.005 required$/,
      ),
    });
    expect((await registry.getProductionVersion(SEED.model))?.version).toBe(1);
    const challengerRun = await trainingExecutions(name);
    expect(challengerRun.map((e) => e.status)).toEqual(['SUCCEEDED']);
    const published = notifications().find((m) => m.Message.executionName === name);
    expect(published?.Subject).toBe(`Retraining ${SEED.model}: kept champion v1`);
    expect(published?.Message).toMatchObject({
      event: 'RetrainingDecision',
      outcome: 'kept',
      trigger: 'drift',
      alertReason: 'distance PSI 0.27 in 2 consecutive windows',
      champion: { version: 1 },
      comparisonReport: expect.stringMatching(new RegExp(`/retraining/${name}/comparison\\.json$`)),
    });
    const challenger = await registry.getVersion(SEED.model, published?.Message.challenger.version);
    expect(challenger).toMatchObject({
      stage: 'Staging',
      trainingRunId: name,
      createdBy: `retraining:${name}`,
    });
  }, 200_000);

  it('releases a challenger that learned a concept shift, which becomes Production through its canary, and starts one retraining per window', async () => {
    const rows = rescheduled(flightsRawRows());
    await dropGroundTruth('2026-11-26', 'part-1.json', rows.slice(8_000, 14_000));
    await dropGroundTruth('2026-11-27', 'part-2.json', rows.slice(14_000, 20_000));
    const { name, input } = driftRequest(
      '2026-11-27T07:00:00Z',
      'prediction PSI 0.41 in 2 consecutive windows',
      // Short bakes: the canary is judged on whatever traffic there is (none here: a note, not a breach).
      { release: { bake: '2s', checkInterval: '1s' } },
    );

    const first = await start(name, input);
    // The drift check retried while the retraining runs: the same execution, not a second one.
    const again = await start(name, input);
    expect(again.executionArn).toBe(first.executionArn);
    const done = await waitForEnd(first.executionArn ?? '');

    expect(done.status).toBe('SUCCEEDED');
    const outcome = JSON.parse(done.output ?? '{}');
    expect(outcome).toMatchObject({ status: 'releasing' });
    const challenger = (await registry.listVersions(SEED.model)).find((v) => v.trainingRunId === name);
    expect(challenger?.stage).toBe('Staging');
    const published = notifications().find((m) => m.Message.executionName === name);
    expect(published?.Subject).toMatch(
      new RegExp(
        `^Retraining ${SEED.model}: releasing challenger v${challenger?.version} \\(holdout AUC \\+0\\.\\d{3}\\)$`,
      ),
    );
    // The release the retraining started runs on its own: canary, health checks, promotion.
    const releaseName = `${name}-release`;
    expect(published?.Message.release).toMatchObject({ executionName: releaseName });
    const released = await waitForEnd(published?.Message.release.executionArn ?? '', 120_000);
    expect(released.status).toBe('SUCCEEDED');
    expect(JSON.parse(released.input ?? '{}')).toMatchObject({
      model: SEED.model,
      version: challenger?.version,
      bake: '2s',
      requestedBy: `retraining:${name}`,
    });
    const champion = await registry.getProductionVersion(SEED.model);
    expect(champion).toMatchObject({
      version: challenger?.version,
      trainingRunId: name,
      stage: 'Production',
    });
    expect((await registry.listAuditEvents(SEED.model)).at(-1)).toMatchObject({
      action: 'promote',
      version: champion?.version,
      previousVersion: 1,
      actor: `release:${releaseName}`,
    });
    // Started again once it has ended (a late duplicate alarm): refused, and still one training run.
    await expect(start(name, input)).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    expect(await trainingExecutions(name)).toHaveLength(1);
  }, 200_000);

  it('keeps the champion, without training, when the window has too little labelled data', async () => {
    await dropGroundTruth('2026-12-10', 'part-1.json', flightsRawRows().slice(0, 500));
    const { name, input } = driftRequest('2026-12-10T07:00:00Z', 'distance PSI 0.3');
    const championBefore = (await registry.getProductionVersion(SEED.model))?.version;

    const { executionArn } = await start(name, input);
    const done = await waitForEnd(executionArn ?? '');

    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({
      status: 'kept',
      summary: expect.stringContaining(
        'not enough labelled data: 500 valid labelled rows in the window, at least 7,143 needed',
      ),
    });
    expect(await trainingExecutions(name)).toEqual([]);
    expect((await registry.getProductionVersion(SEED.model))?.version).toBe(championBefore);
  }, 60_000);
});
