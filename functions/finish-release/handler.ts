// Lambda entry point of the release's FinishRelease step (statemachines/release.asl.json).
import { releasePorts, releaseStep } from '../lib/releases/release-handler.ts';
import { finishRelease } from './core.ts';

export const handler = (event: unknown) =>
  releaseStep('FinishRelease', () => finishRelease(event, releasePorts()));
