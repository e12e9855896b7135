// Lambda entry point of the release's CheckHealth step (statemachines/release.asl.json).
import { releasePorts, releaseStep } from '../lib/releases/release-handler.ts';
import { checkReleaseHealth } from './core.ts';

export const handler = (event: unknown) =>
  releaseStep('CheckHealth', () => checkReleaseHealth(event, releasePorts()));
