// The shapes a release carries from state to state in statemachines/release.asl.json: `$.release`
// (what StartRelease decided), `$.published` (the new version), `$.progress` (the step and its
// bake) and `$.promotion` (when the model version became Production), checked by every step's
// core at its edge.
import * as z from 'zod';
import { InvalidRequest } from '../errors.ts';
import { DecisionPolicy } from './champion-challenger.ts';
import { HealthThresholds } from './health.ts';
import { StrategyName } from './release-plan.ts';
import type { ReleaseKey } from './release-record.ts';

/** `$.release`: the release as StartRelease fixed it. */
export const ReleaseContext = z.object({
  releaseId: z.string().min(1),
  executionArn: z.string().min(1),
  model: z.string().min(1),
  modelVersion: z.number().int().positive(),
  previousModelVersion: z.number().int().positive().nullable(),
  functionName: z.string().min(1),
  alias: z.string().min(1),
  previousFunctionVersion: z.string().min(1),
  strategy: StrategyName,
  plan: z.array(z.number().gt(0).max(100)).min(1),
  bakeSeconds: z.number().int().min(0),
  checkIntervalSeconds: z.number().int().min(1),
  thresholds: HealthThresholds,
  alarmNames: z.array(z.string()),
  startedAt: z.string(),
  requestedBy: z.string(),
  /** Champion/challenger only: how the slice (the plan's first step) is decided. */
  decision: DecisionPolicy.optional(),
});
export type ReleaseContext = z.infer<typeof ReleaseContext>;

/** `$.published`: the version published for the release. */
export const Published = z.object({
  functionVersion: z.string().min(1),
  /** MODEL_VERSION_PINS of the new version. */
  pins: z.record(z.string(), z.number()),
  /** Warm-up invocations it answered before traffic. */
  warmed: z.number().int().min(0),
});
export type Published = z.infer<typeof Published>;

export const VERDICTS = ['starting', 'baking', 'healthy', 'breach', 'aborted'] as const;

/** `$.progress`: where the ramp is; the ASL's Wait and Choice states read it. */
export const Progress = z.object({
  /** Index into the plan; -1 before the first shift. */
  stepIndex: z.number().int().min(-1),
  percent: z.number().min(0).max(100),
  stepStartedAt: z.string().optional(),
  bakeUntil: z.string().optional(),
  /** Seconds the Bake state waits before the next check. */
  waitSeconds: z.number().int().min(0),
  /** Checks made in this step. */
  checks: z.number().int().min(0),
  verdict: z.enum(VERDICTS),
  bakeComplete: z.boolean(),
  isLastStep: z.boolean(),
  /**
   * Champion/challenger: this step is the slice, and once it has baked (its window) the
   * challenger is judged on outcomes (DecideChallenger) before any more traffic moves.
   */
  isDecisionStep: z.boolean().default(false),
  /** Why the verdict is breach or aborted. */
  reasons: z.array(z.string()),
});
export type Progress = z.infer<typeof Progress>;

/** Seconds step `index` of `release` bakes: a champion/challenger's slice bakes for its decision window. */
export const bakeSecondsOf = (release: Pick<ReleaseContext, 'bakeSeconds' | 'decision'>, index: number) =>
  release.decision && index === 0 ? release.decision.windowSeconds : release.bakeSeconds;

/** `$.decision`: what DecideChallenger concluded for a champion/challenger release. */
export const DecisionResult = z.object({
  decision: z.enum(['promote', 'keep']),
  /** Why, in words. */
  reasons: z.array(z.string()),
  /** One sentence for people. */
  summary: z.string(),
  /** The decision report (JSON), with both arms' figures and every gate. */
  report: z.string(),
});
export type DecisionResult = z.infer<typeof DecisionResult>;

/** What ShiftTraffic, CheckHealth and FinishRelease are given. */
export const StepInput = z.object({ release: ReleaseContext, published: Published, progress: Progress });
export type StepInput = z.infer<typeof StepInput>;

/**
 * `$.promotion`: what FinishRelease's promotion hands to the wait before the hand back and to the
 * hand back itself.
 */
export const Promotion = z.object({
  promotedAt: z.string().min(1),
  /**
   * Seconds the state machine waits before the hand back: the predict function's registry cache
   * TTL and a margin, so no execution environment still holds the Production version from before.
   */
  waitSeconds: z.number().int().min(0),
});
export type Promotion = z.infer<typeof Promotion>;

/** Parse a step's input; a shape the ASL should never produce is a clear InvalidRequest. */
export function parseStepInput<T extends z.ZodType>(schema: T, event: unknown, step: string): z.infer<T> {
  const parsed = schema.safeParse(event);
  if (!parsed.success) throw new InvalidRequest(`${step}: invalid input: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export const keyOf = (release: ReleaseContext): ReleaseKey => ({
  model: release.model,
  startedAt: release.startedAt,
  releaseId: release.releaseId,
});

/** `flight-delay v3`. */
export const modelLabel = (release: Pick<ReleaseContext, 'model' | 'modelVersion'>) =>
  `${release.model} v${release.modelVersion}`;
