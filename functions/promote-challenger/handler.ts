// Lambda entry point of the retraining's PromoteChallenger step.
import { logger, registry, retrainingStep } from '../lib/retraining/retraining-handler.ts';
import { promoteChallenger } from './core.ts';

export const handler = (event: unknown) =>
  retrainingStep('promote', () =>
    promoteChallenger(event, {
      registry: registry(),
      log: (message, data) => logger.info(message, data ?? {}),
    }),
  );
