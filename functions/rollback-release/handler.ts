// Lambda entry point of the release's RollbackRelease step (statemachines/release.asl.json).
import { releasePorts, releaseStep } from '../lib/releases/release-handler.ts';
import { rollbackRelease } from './core.ts';

export const handler = (event: unknown) =>
  releaseStep('RollbackRelease', () => rollbackRelease(event, releasePorts()));
