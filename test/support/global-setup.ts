// Synthesizes cdk.out once before any test file runs, so integration tests boot the local
// runtime from the same template `cdk synth` produces without racing each other to build it.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSynth } from '../../local/synth.ts';

export const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(): Promise<void> {
  await ensureSynth(PROJECT_DIR, join(PROJECT_DIR, 'cdk.out'), (line) =>
    console.log(`[global-setup] ${line}`),
  );
}
