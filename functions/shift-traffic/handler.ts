// Lambda entry point of the release's ShiftTraffic step (statemachines/release.asl.json).
import { releasePorts, releaseStep } from '../lib/releases/release-handler.ts';
import { shiftTraffic } from './core.ts';

export const handler = (event: unknown) =>
  releaseStep('ShiftTraffic', () => shiftTraffic(event, releasePorts()));
