// Runs one Step Functions task's work in a Lambda handler: logs how it went, and turns throttling
// and passing faults into TransientError — the one error name every ASL's Retry lists — while
// every other error keeps its own name for the Catch (and the state machine's Choice) to see.
import type { Logger } from '@aws-lambda-powertools/logger';
import { isTransient, TransientError } from './errors.ts';

/** A step runner logging to `logger`: `await runStep('plan', () => plan(input))`. */
export function stepRunner(logger: Pick<Logger, 'info' | 'error'>) {
  return async function runStep<T>(step: string, work: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      const result = await work();
      logger.info('step succeeded', { step, durationMs: Date.now() - started });
      return result;
    } catch (err) {
      const transient = isTransient(err);
      logger.error('step failed', {
        step,
        transient,
        error: { name: (err as Error).name, message: (err as Error).message },
      });
      if (transient) throw new TransientError(`${(err as Error).name}: ${(err as Error).message}`);
      throw err;
    }
  };
}
