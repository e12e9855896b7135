// Retraining step DescribeRetrainingOutcome: every path of statemachines/retraining.asl.json ends
// here. From what the execution's state holds (each step's result, or the error its Catch put at
// `$.{step}Error`) it tells which way it went — releasing (the challenger won and its release
// started), promoted (by the registry write), kept (a decision, with the reasons) or failed (no
// decision could be made) — writes outcome.json, and shapes the notification the state
// machine publishes and, for a failure, the error its Fail state ends with.
import * as z from 'zod';
import { reasonFromCause } from '../lib/errors.ts';
import { checkExecutionName, retrainingFiles } from '../lib/retraining/retraining-files.ts';
import { type ObjectStore, writeJson } from '../lib/storage/object-store.ts';
import { s3Uri } from '../lib/storage/s3-layout.ts';

/** What a Catch puts at its ResultPath. */
const CaughtError = z.object({ Error: z.string(), Cause: z.string().optional() });

/** The execution's state, as far as the outcome needs it (each part present once its step ran). */
export const RetrainingState = z.looseObject({
  model: z.string(),
  trigger: z.string(),
  window: z.object({ start: z.string(), end: z.string() }),
  reason: z.string().optional(),
  prepared: z
    .looseObject({
      trainingRun: z.looseObject({ runId: z.string() }),
      reference: z.object({ version: z.number(), stage: z.string() }),
      output: z.string(),
      release: z.looseObject({ executionName: z.string() }).optional(),
    })
    .optional(),
  prepareError: CaughtError.optional(),
  training: z.looseObject({ version: z.number() }).optional(),
  trainingError: CaughtError.optional(),
  comparison: z
    .looseObject({
      decision: z.enum(['promote', 'keep']),
      reasons: z.array(z.string()),
      champion: z.object({ version: z.number(), auc: z.number().nullable() }).nullable(),
      challenger: z.object({ version: z.number(), auc: z.number().nullable() }),
      aucGain: z.number().nullable(),
      output: z.string(),
    })
    .optional(),
  compareError: CaughtError.optional(),
  promotion: z.looseObject({ version: z.number(), previousVersion: z.number() }).optional(),
  promoteError: CaughtError.optional(),
  /** The challenger's release, started (policy promoteBy = release). */
  release: z.looseObject({ executionArn: z.string() }).optional(),
  releaseError: CaughtError.optional(),
});
export type RetrainingState = z.infer<typeof RetrainingState>;

export const DescribeInput = z.object({ state: z.unknown(), executionName: z.string() });

/**
 * `releasing`: the challenger won and its release started (the release decides, and reports,
 * whether it becomes Production); `promoted`: the registry made it Production at once.
 */
export type OutcomeStatus = 'releasing' | 'promoted' | 'kept' | 'failed';

/** `$.outcome`: what PublishOutcome / PublishFailure send and RetrainingFailed ends with. */
export interface RetrainingOutcome {
  readonly status: OutcomeStatus;
  /** One sentence for people: what happened and the first reason. */
  readonly summary: string;
  /** SNS subject (at most 100 characters). */
  readonly subject: string;
  /** SNS message: JSON for machines, with `summary` and `reasons` for people. */
  readonly message: string;
  /** Failed only: the Fail state's error and cause. */
  readonly error?: string;
  readonly cause?: string;
  /** outcome.json */
  readonly output: string;
}

export interface DescribePorts {
  /** The artifacts bucket: outcome.json. */
  readonly artifacts: ObjectStore;
  readonly now?: () => Date;
}

/** The training pipeline's own verdicts on its data and model: a kept champion, not a fault. */
const GATE_ERRORS = new Set(['DataValidationFailed', 'QualityGateFailed']);

interface Verdict {
  readonly status: OutcomeStatus;
  readonly summary: string;
  readonly reasons: readonly string[];
  readonly failedStep?: string;
  readonly error?: string;
}

const f = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(3) : '?');
const signed = (v: number | null | undefined) =>
  typeof v === 'number' ? `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}` : '?';

export async function describeRetrainingOutcome(
  event: unknown,
  ports: DescribePorts,
): Promise<RetrainingOutcome> {
  const { state: raw, executionName: name } = DescribeInput.parse(event);
  const executionName = checkExecutionName(name);
  const state = RetrainingState.parse(raw);
  const verdict = judge(state);
  const key = retrainingFiles(executionName).outcome;
  const output = s3Uri(ports.artifacts.bucket, key);
  const { comparison, prepared } = state;
  const body = {
    event: verdict.status === 'failed' ? 'RetrainingFailed' : 'RetrainingDecision',
    model: state.model,
    executionName,
    trigger: state.trigger,
    window: state.window,
    alertReason: state.reason ?? '',
    outcome: verdict.status,
    summary: verdict.summary,
    reasons: verdict.reasons,
    champion: comparison?.champion ?? null,
    challenger:
      comparison?.challenger ?? (state.training ? { version: state.training.version, auc: null } : null),
    aucGain: comparison?.aucGain ?? null,
    ...(verdict.failedStep ? { failedStep: verdict.failedStep, error: verdict.error } : {}),
    ...(state.release
      ? {
          release: {
            executionName: prepared?.release?.executionName ?? null,
            executionArn: state.release.executionArn,
          },
        }
      : {}),
    challengerRunId: prepared?.trainingRun.runId ?? null,
    groundTruthReport: prepared?.output ?? null,
    comparisonReport: comparison?.output ?? null,
    outcomeReport: output,
    at: (ports.now?.() ?? new Date()).toISOString(),
  };
  await writeJson(ports.artifacts, key, body);
  const subject = subjectOf(state, verdict);
  const { summary } = verdict;
  if (verdict.status !== 'failed')
    return { status: verdict.status, summary, subject, message: JSON.stringify(body), output };
  return {
    status: 'failed',
    summary,
    subject,
    message: JSON.stringify(body),
    error: verdict.error ?? 'RetrainingFailed',
    cause: `step ${verdict.failedStep}: ${verdict.reasons.join('; ')}`.slice(0, 32_000),
    output,
  };
}

/** Which way the execution went, from the furthest step that left a result or an error. */
function judge(state: RetrainingState): Verdict {
  const kept = (reasons: readonly string[]): Verdict => ({
    status: 'kept',
    summary: `kept ${championLabel(state)}: ${reasons[0] ?? ''}`,
    reasons,
  });
  const failed = (failedStep: string, caught: z.infer<typeof CaughtError>): Verdict => {
    const reason = reasonFromCause(caught.Cause);
    return {
      status: 'failed',
      summary: `retraining failed at ${failedStep} (${caught.Error}): ${reason}; the champion stays`,
      reasons: [reason],
      failedStep,
      error: caught.Error,
    };
  };
  if (state.release) {
    const { comparison } = state;
    const name = state.prepared?.release?.executionName ?? state.release.executionArn;
    return {
      status: 'releasing',
      summary:
        `challenger v${comparison?.challenger.version ?? '?'} beat ${championLabel(state)}` +
        (comparison
          ? ` (holdout AUC ${f(comparison.challenger.auc)} vs ${f(comparison.champion?.auc)})`
          : '') +
        `: releasing it — release ${name} makes it Production only if it stays healthy on live traffic`,
      reasons: comparison?.reasons ?? [],
    };
  }
  if (state.releaseError) return failed('ReleaseChallenger', state.releaseError);
  if (state.promotion) {
    const { comparison } = state;
    return {
      status: 'promoted',
      summary:
        `promoted challenger v${state.promotion.version} over champion v${state.promotion.previousVersion}` +
        (comparison
          ? ` (holdout AUC ${f(comparison.challenger.auc)} vs ${f(comparison.champion?.auc)})`
          : ''),
      reasons: comparison?.reasons ?? [],
    };
  }
  if (state.promoteError) {
    if (state.promoteError.Error === 'ConflictError')
      return kept([reasonFromCause(state.promoteError.Cause)]);
    return failed('PromoteChallenger', state.promoteError);
  }
  if (state.comparison) return kept(state.comparison.reasons);
  if (state.compareError) return failed('CompareChallenger', state.compareError);
  if (state.trainingError) {
    const child = nestedFailure(state.trainingError);
    const runId = state.prepared?.trainingRun.runId ?? '?';
    if (GATE_ERRORS.has(child.error))
      return kept([
        `the challenger's training run ${runId} stopped at its gates (${child.error}): ${child.reason}`,
      ]);
    return failed('TrainChallenger', {
      Error: child.error,
      Cause: `training run ${runId} failed: ${child.reason}`,
    });
  }
  if (state.prepareError) {
    if (state.prepareError.Error === 'InsufficientLabelledData')
      return kept([`not enough labelled data: ${reasonFromCause(state.prepareError.Cause)}`]);
    return failed('PrepareRetrainingData', state.prepareError);
  }
  return failed('DescribeRetrainingOutcome', {
    Error: 'RetrainingStateInvalid',
    Cause: 'the execution state holds no step result or error to describe',
  });
}

/**
 * The nested training execution's own error: a failed `startExecution.sync` task reports
 * `States.TaskFailed` with the child execution's description (its Error and Cause) as the cause.
 */
function nestedFailure(caught: z.infer<typeof CaughtError>): { error: string; reason: string } {
  try {
    const child = JSON.parse(caught.Cause ?? '') as { Error?: unknown; Cause?: unknown; Status?: unknown };
    if (typeof child.Error === 'string')
      return {
        error: child.Error,
        reason: typeof child.Cause === 'string' ? reasonFromCause(child.Cause) : String(child.Status ?? ''),
      };
    if (typeof child.Status === 'string')
      return { error: caught.Error, reason: `the training execution ended ${child.Status}` };
  } catch {
    // not a child execution's description: the start itself failed
  }
  return { error: caught.Error, reason: reasonFromCause(caught.Cause) };
}

/** `champion v3`, or `the champion` before anything said which version it is. */
function championLabel(state: RetrainingState): string {
  const fromComparison = state.comparison ? state.comparison.champion?.version : undefined;
  const fromPreparation =
    state.prepared?.reference.stage === 'Production' ? state.prepared.reference.version : undefined;
  const version = fromComparison ?? fromPreparation;
  return version === undefined ? 'the champion' : `champion v${version}`;
}

function subjectOf(state: RetrainingState, verdict: Verdict): string {
  const head = `Retraining ${state.model}`;
  const { comparison } = state;
  const text =
    verdict.status === 'releasing'
      ? `${head}: releasing challenger v${comparison?.challenger.version} (holdout AUC ${signed(comparison?.aucGain)})`
      : verdict.status === 'promoted'
        ? `${head}: promoted challenger v${state.promotion?.version} (holdout AUC ${signed(comparison?.aucGain)})`
        : verdict.status === 'kept'
          ? `${head}: kept ${championLabel(state)}`
          : `${head} failed at ${verdict.failedStep}`;
  return text.slice(0, 100);
}
