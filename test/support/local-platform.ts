// Boots the local runtime for one integration test file: free ports, a temp data folder,
// the seed model trained on first start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrapSeedModel } from '../../local/bootstrap.ts';
import { type Platform, startPlatform } from '../../local/platform.ts';

const CDK_OUT = fileURLToPath(new URL('../../cdk.out', import.meta.url));

export interface TestPlatform {
  readonly platform: Platform;
  stop(): Promise<void>;
}

export async function bootTestPlatform(
  options: { routingSeed?: number; dataDir?: string; retryDelayMs?: number } = {},
): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'mlops-it-'));
  const platform = await startPlatform({
    cdkOut: CDK_OUT,
    dataDir,
    port: 0,
    routingSeed: options.routingSeed,
    // Retry pauses of seconds (the ASL's backoff) would only slow tests down.
    stepFunctions: { retryDelayMs: options.retryDelayMs ?? 10 },
  });
  await bootstrapSeedModel(platform, () => undefined);
  return {
    platform,
    async stop() {
      await platform.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
