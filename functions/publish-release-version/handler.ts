// Lambda entry point of the release's PublishReleaseVersion step (statemachines/release.asl.json).
import { releasePorts, releaseStep } from '../lib/releases/release-handler.ts';
import { publishReleaseVersion } from './core.ts';

export const handler = (event: unknown) =>
  releaseStep('PublishReleaseVersion', () => publishReleaseVersion(event, releasePorts()));
