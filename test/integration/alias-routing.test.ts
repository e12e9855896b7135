// A canary declared in the stack (liveRouting) reaches the local runtime's `live` alias with
// its weight, and the draw per request honours it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '../../local/platform.ts';
import { synthStack } from '../infra/synth-stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlops-canary-'));
let platform: Platform;
let predictFunction: string;

beforeAll(async () => {
  // Bundling is skipped: this test reads routing, it never invokes the functions.
  synthStack(
    { liveRouting: { version: '2', weight: 0.25 }, codeRelease: { enabled: false } },
    { outdir: join(dir, 'cdk.out') },
  );
  platform = await startPlatform({
    cdkOut: join(dir, 'cdk.out'),
    dataDir: join(dir, 'data'),
    port: 0,
    routingSeed: 42,
  });
  predictFunction = platform.stacks[0]?.outputs.PredictFunctionName ?? '';
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('live alias routing from the template', () => {
  it('carries the canary version and weight declared in the stack', () => {
    expect(platform.lambda.getAlias(predictFunction, 'live')).toEqual({
      functionName: predictFunction,
      version: '1',
      additionalVersions: [{ version: '2', weight: 0.25 }],
    });
  });

  it('sends the canary its share of invocations', () => {
    const n = 10_000;
    let canary = 0;
    for (let i = 0; i < n; i++)
      if (platform.lambda.resolveVersion(`${predictFunction}:live`).version === '2') canary++;
    expect(canary / n).toBeGreaterThan(0.23);
    expect(canary / n).toBeLessThan(0.27);
  });
});
