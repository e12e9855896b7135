// The local runtime as a product: state survives a restart, the Lambda Invoke API answers
// like AWS's, nothing in the template is silently skipped, and the CLI finds the platform.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapSeedModel, platformStack } from '../../local/bootstrap.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'mlops-restart-'));
const bin = fileURLToPath(new URL('../../bin/mlops.js', import.meta.url));
let t: TestPlatform;

beforeAll(async () => {
  t = await bootTestPlatform({ dataDir });
});

afterAll(async () => {
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const lambdaClient = () =>
  new LambdaClient({
    endpoint: t.platform.endpoints.lambda,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

describe('local runtime', () => {
  it('emulates or explains every resource the template declares', () => {
    expect(t.platform.report.notEmulated).toEqual([]);
    expect(t.platform.report.noLocalMeaning.some((r) => r.includes('replaced by a built-in emulation'))).toBe(
      true,
    );
  });

  it('evaluates every CloudWatch alarm the stack declares', () => {
    const declared = Object.values(t.platform.stacks).flatMap((s) => Object.values(s.alarms));
    expect(declared.length).toBeGreaterThan(0);
    const evaluated = t.platform.cloudwatch.alarms().map((a) => a.name);
    expect(evaluated.sort()).toEqual([...declared].sort());
  });

  it('answers the Lambda Invoke API with a function error the SDK understands', async () => {
    const out = await lambdaClient().send(
      new InvokeCommand({
        FunctionName: Object.entries(platformStack(t.platform).functions).find(([id]) =>
          id.startsWith('TrainingPipelineValidateData'),
        )?.[1],
        Payload: Buffer.from('{"model":"Bad Name"}'),
      }),
    );
    expect(out.FunctionError).toBe('Unhandled');
    const payload = JSON.parse(Buffer.from(out.Payload ?? []).toString()) as {
      errorType: string;
      errorMessage: string;
    };
    expect(payload.errorType).toBe('InvalidRequest');
  });

  it('answers ResourceNotFoundException for an unknown function', async () => {
    await expect(
      lambdaClient().send(new InvokeCommand({ FunctionName: 'no-such-function' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('serves `mlops predict` through .mlops/local.json', async () => {
    const stateFile = join(dataDir, 'local.json');
    writeFileSync(stateFile, JSON.stringify(t.platform.describe()));
    const instances = JSON.stringify([
      { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' },
    ]);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [bin, 'predict', 'flight-delay', '--instances', instances],
      {
        env: { ...process.env, MLOPS_STATE_FILE: stateFile },
      },
    );
    expect(stdout).toMatch(/flight-delay v1 · 1 rows/);
  });

  it('keeps the registry, artifacts and API key across a restart', async () => {
    const { apiKey } = t.platform;
    await t.platform.stop();
    t = await bootTestPlatform({ dataDir });
    expect(t.platform.apiKey).toBe(apiKey);
    expect(await bootstrapSeedModel(t.platform, () => undefined)).toBe('existing');
    const res = await fetch(`${t.platform.url}models/flight-delay/predict`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        instances: [{ date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' }],
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { version: number }).version).toBe(1);
  });
});
