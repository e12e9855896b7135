// The run log: what a training run did, step by step (status, duration, output location,
// error), as `mlops runs show` prints it. Domain types and the port; storage lives in adapters.
import type { PipelineStep, TrainingRunInput } from './training-run.ts';

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';
/** RETRYING: the step hit a transient error and the pipeline's Retry will run it again. */
export type StepStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'RETRYING';

/** An error as recorded: its name (the ASL error) and a message for people. */
export interface RecordedError {
  readonly name: string;
  readonly message: string;
}

export interface StepRecord {
  readonly step: PipelineStep;
  readonly status: StepStatus;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  /** Invocations of this step in this run (retries included). */
  readonly attempts: number;
  /** Where the step wrote its output (`s3://…/runs/{runId}/{step}/…`). */
  readonly output?: string;
  readonly error?: RecordedError;
}

export interface RunRecord {
  readonly runId: string;
  readonly model: string;
  readonly status: RunStatus;
  readonly trainer: string;
  readonly datasetUri: string;
  readonly requestedBy: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** The registered version, once the run succeeded. */
  readonly version?: number;
  readonly failedStep?: string;
  readonly error?: RecordedError;
  /** In pipeline order. */
  readonly steps: readonly StepRecord[];
}

/** Port: every write is an upsert by (run id, item), so a retried step rewrites its own record. */
export interface RunLog {
  /** The step began (or began again): marks the run RUNNING and counts the attempt. */
  stepStarted(run: TrainingRunInput, step: PipelineStep): Promise<void>;
  stepSucceeded(
    runId: string,
    step: PipelineStep,
    outcome: { durationMs: number; output?: string },
  ): Promise<void>;
  stepFailed(
    runId: string,
    step: PipelineStep,
    outcome: { durationMs: number; error: RecordedError; willRetry: boolean },
  ): Promise<void>;
  runSucceeded(runId: string, outcome: { version: number }): Promise<void>;
  runFailed(runId: string, outcome: { step?: string; error: RecordedError }): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Most recent first. */
  listRuns(opts?: { model?: string; limit?: number }): Promise<RunRecord[]>;
}
