// Runs one training-pipeline step: parses the state it is given, records the step in the run
// log (start, end, duration, output, error), and names its errors for the state machine:
// transient faults become `TransientError`, which the ASL retries with backoff; every other
// error keeps its name and goes to the pipeline's Catch.

import { InvalidRequest, isTransient, TransientError } from '../errors.ts';
import { toFieldIssues } from '../schemas/zod-issues.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { RunLog } from './run-log.ts';
import { PipelineState, type PipelineStep } from './training-run.ts';

/** What every step returns: at least where its output went, for the run log. */
export interface StepOutcome {
  readonly output?: string;
}

/** What a step's core gets besides the pipeline state. */
export interface StepPorts {
  /** The artifacts bucket: `runs/{runId}/…` and `models/…`. */
  readonly artifacts: ObjectStore;
  /** Read any `s3://` object this function may read (datasets); a missing one is an InvalidRequest. */
  readObject(uri: string): Promise<Uint8Array>;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
  readonly runLog: RunLog;
}

export interface StepDeps {
  readonly runLog: RunLog;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

/** Run `work` as pipeline step `step` on the state `event`. */
export async function runPipelineStep<T extends StepOutcome>(
  step: PipelineStep,
  event: unknown,
  deps: StepDeps,
  work: (state: PipelineState) => Promise<T>,
): Promise<T> {
  const parsed = PipelineState.safeParse(event);
  if (!parsed.success)
    throw new InvalidRequest(`invalid input for pipeline step ${step}`, toFieldIssues(parsed.error));
  const state = parsed.data;
  const started = Date.now();
  try {
    await deps.runLog.stepStarted(state, step);
    const result = await work(state);
    await deps.runLog.stepSucceeded(state.runId, step, {
      durationMs: Date.now() - started,
      ...(result.output === undefined ? {} : { output: result.output }),
    });
    deps.log('step succeeded', { runId: state.runId, step, durationMs: Date.now() - started });
    return result;
  } catch (err) {
    const transient = isTransient(err);
    const error = {
      name: transient ? 'TransientError' : (err as Error).name,
      message: (err as Error).message,
    };
    deps.log('step failed', { runId: state.runId, step, error, transient });
    // Best effort: a run log that cannot be written must not hide the step's own error.
    await deps.runLog
      .stepFailed(state.runId, step, { durationMs: Date.now() - started, error, willRetry: transient })
      .catch((logErr: unknown) => deps.log('run log write failed', { error: String(logErr) }));
    if (transient) throw new TransientError(`${(err as Error).name}: ${(err as Error).message}`);
    throw err;
  }
}
