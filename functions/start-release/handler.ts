// Lambda entry point of the release's StartRelease step (statemachines/release.asl.json).
import { releasePorts, releaseStep } from '../lib/releases/release-handler.ts';
import { startRelease } from './core.ts';

export const handler = (event: unknown) =>
  releaseStep('StartRelease', () => startRelease(event, releasePorts()));
