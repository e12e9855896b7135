// The continuous-training loop on the local platform, as `mlops drift simulate` runs it: shifted
// traffic through the API → capture in S3 → the drift check on two windows → the drift alarm
// (local CloudWatch) pages → the retraining it started decides. And a repeated check of the same
// window starts no second retraining.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftCheckCommand, driftSimulateCommand } from '../../cli/commands/drift.ts';
import { resolveTarget, type Target } from '../../cli/target.ts';
import type { ModelDriftCheck } from '../../functions/drift-check/core.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { parseS3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { runJson } from '../support/cli-json.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

let t: TestPlatform;
let target: Target;
const stateDir = mkdtempSync(join(tmpdir(), 'mlops-drift-loop-'));

interface SimulateOutput {
  checks: Array<ModelDriftCheck & { window: { start: string; end: string } }>;
  retraining: {
    name: string;
    executionArn: string;
    status: string;
    output?: { status: string; summary: string };
  };
}

beforeAll(async () => {
  t = await bootTestPlatform();
  const stateFile = join(stateDir, 'local.json');
  writeFileSync(stateFile, JSON.stringify(t.platform.describe()));
  target = await resolveTarget('local', 'MlopsStack', stateFile);
}, 120_000);

afterAll(async () => {
  await t?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('drift → alarm → retraining, locally', () => {
  let run: { code: number; json: SimulateOutput };

  beforeAll(async () => {
    run = await runJson<SimulateOutput>(() =>
      driftSimulateCommand(target, {
        shift: 'covariate',
        model: 'flight-delay',
        rows: 3000,
        windows: 2,
        labelledRows: 9000,
        seed: 1,
        json: true,
      }),
    );
  }, 120_000);

  it('finds the shifted feature significant in both windows, and raises the alert on the second', () => {
    const [first, second] = run.json.checks;
    expect(first).toMatchObject({ status: 'significant', alert: { state: 'pending', raised: false } });
    expect(second).toMatchObject({ status: 'significant', alert: { state: 'alarm', raised: true } });
    expect(second?.reason).toMatch(/distance/);
    expect(second?.retraining).toMatchObject({ status: 'started' });
  });

  it('writes a readable report for each window', async () => {
    const report = run.json.checks[1]?.report;
    expect(report).toBeDefined();
    const s3 = localS3Client(t.platform.endpoints.s3);
    const { bucket, key } = parseS3Uri(report?.html ?? '');
    const html = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body?.transformToString();
    expect(html).toContain('distance');
    expect(html).toMatch(/significant/i);
  });

  it('pages: the drift alarm goes to ALARM and its message reaches the alarms topic', async () => {
    const alarm = await t.platform.cloudwatch.waitForAlarmState('MlopsStack-ModelDrift', 'ALARM', 20_000);
    expect(alarm).toMatchObject({ state: 'ALARM', reason: expect.stringMatching(/Threshold Crossed/) });
    const topic = Object.entries(t.platform.stacks[0]?.topics ?? {}).find(([id]) =>
      id.startsWith('AlarmsTopic'),
    );
    const messages = readFileSync(t.platform.sns.messageFile(topic?.[1]?.split(':').at(-1) ?? ''), 'utf8');
    expect(messages).toMatch(/MlopsStack-ModelDrift/);
    expect(messages).toMatch(/"NewStateValue\\?":\\?"ALARM/);
  });

  it('runs the retraining the alarm started to a decision, and says why', () => {
    expect(run.code).toBe(0);
    expect(run.json.retraining).toMatchObject({ status: 'SUCCEEDED' });
    expect(['releasing', 'promoted', 'kept']).toContain(run.json.retraining.output?.status);
    expect(run.json.retraining.output?.summary).toMatch(/AUC/);
  });

  it('starts no second retraining when the same window is checked again', async () => {
    const last = run.json.checks[1];
    const name = last?.retraining?.executionName ?? '';
    const again = await runJson<{ models: ModelDriftCheck[] }>(() =>
      driftCheckCommand(target, {
        model: 'flight-delay',
        start: last?.window.start,
        end: last?.window.end,
        json: true,
      }),
    );
    expect(again.json.models[0]?.retraining).toMatchObject({
      status: 'already-started',
      executionName: name,
    });
    const sfn = new SFNClient({
      endpoint: t.platform.endpoints.sfn,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: target.outputs.RetrainingPipelineArn ?? '' }),
    );
    expect((listed.executions ?? []).filter((e) => e.name === name)).toHaveLength(1);
  });
});

describe('concept shift → retraining → release → Production, locally', () => {
  let run: {
    code: number;
    json: SimulateOutput & { release?: { status: string; output?: { summary: string } } };
  };

  beforeAll(async () => {
    run = await runJson(() =>
      driftSimulateCommand(target, {
        shift: 'concept',
        model: 'flight-delay',
        rows: 1500,
        windows: 1,
        labelledRows: 9000,
        seed: 3,
        releaseBake: '2s',
        json: true,
      }),
    );
  }, 180_000);

  it('retrains on the new schedule, and the winning challenger goes live through its own canary', async () => {
    expect(run.code).toBe(0);
    expect(run.json.retraining.output).toMatchObject({ status: 'releasing' });
    expect(run.json.release).toMatchObject({ status: 'SUCCEEDED' });
    expect(run.json.release?.output?.summary).toMatch(/released \(canary 5% → 25% → 50% → 100%, 2s bakes\)/);
    const registry = new DynamoDbModelRegistry(
      DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb)),
      target.outputs.RegistryTableName ?? '',
    );
    const production = await registry.getProductionVersion('flight-delay');
    expect(production?.trainingRunId).toBe(run.json.retraining.name);
  });
});
