// The knobs of the continuous-training loop: how much recent labelled data a retraining reads and
// needs, how it holds out rows, and what a challenger must show on them to replace the champion.
// Defaults come from the deployment (RETRAINING_POLICY, set by the construct), and one execution
// may override any of them in its request; the resolved policy is recorded with the decision.
import * as z from 'zod';

/** How a winning challenger becomes Production (see `promoteBy`). */
export const PROMOTION_PATHS = ['release', 'registry'] as const;

/**
 * The settings of the release a winning challenger goes through, as `mlops release` takes them
 * (strategy, plan, bake, check interval; slice, window, metric, settle for champion-challenger).
 * Checked by the release's own start: a bad value fails that release, naming it.
 */
export const RetrainingReleaseSettings = z
  .object({
    strategy: z.string().min(1),
    plan: z.union([z.string(), z.array(z.number())]),
    bake: z.union([z.string(), z.number()]),
    checkInterval: z.union([z.string(), z.number()]),
    slice: z.union([z.string(), z.number()]),
    window: z.union([z.string(), z.number()]),
    metric: z.string(),
    settle: z.union([z.string(), z.number()]),
  })
  .partial()
  .strict();
export type RetrainingReleaseSettings = z.infer<typeof RetrainingReleaseSettings>;

/** What a request or the deployment may set; every field optional (see `RetrainingPolicy`). */
export const RetrainingPolicyOverrides = z
  .object({
    /**
     * The challenger's holdout AUC must beat the champion's by at least this much (the margin):
     * a tie, or a gain within noise, keeps the champion.
     */
    minAucGain: z.number().min(0).max(1),
    /**
     * No subgroup's holdout AUC under the challenger may fall more than this (ε) below the
     * champion's AUC on the same subgroup: fairness measured against the champion.
     */
    maxSubgroupAucLoss: z.number().min(0).max(1),
    /** Subgroups with fewer holdout rows are reported but not gated: their AUC is mostly noise. */
    minSubgroupRows: z.number().int().min(1),
    /**
     * Subgroup columns of the recipe to gate on (e.g. `origin_region`); absent: every slicing the
     * recipe defines.
     */
    subgroupColumns: z.array(z.string().min(1)).min(1),
    /** Days of ground-truth partitions read, counted back from the window's end (whose day is included). */
    lookbackDays: z.number().int().min(1).max(366),
    /** Fewest valid labelled rows worth retraining on (the recipe's own minimum may ask for more). */
    minLabelledRows: z.number().int().min(2),
    /** Share of the labelled rows held out to compare champion and challenger on, in (0, 1). */
    holdoutShare: z.number().gt(0).lt(1),
    /**
     * How a challenger that won becomes Production: `release` — through the release state machine
     * (its canary, health checks and rollback; `release` settings), started by the retraining and
     * running on its own; `registry` — a compare-and-set on the registry at once.
     */
    promoteBy: z.enum(PROMOTION_PATHS),
    /** The release a winning challenger goes through; absent fields take the release pipeline's defaults. */
    release: RetrainingReleaseSettings,
  })
  .partial()
  .strict();
export type RetrainingPolicyOverrides = z.infer<typeof RetrainingPolicyOverrides>;

/** The platform's defaults (the construct may change them for a deployment). */
export const DEFAULT_RETRAINING_POLICY = {
  minAucGain: 0.005,
  maxSubgroupAucLoss: 0.02,
  minSubgroupRows: 200,
  lookbackDays: 7,
  minLabelledRows: 2_000,
  holdoutShare: 0.3,
  promoteBy: 'release',
  release: {},
} as const;

/** A policy with every field but `subgroupColumns` filled in. */
export type RetrainingPolicy = Required<Omit<RetrainingPolicyOverrides, 'subgroupColumns'>> &
  Pick<RetrainingPolicyOverrides, 'subgroupColumns'>;

/** The policy as resolved once, by PrepareRetrainingData, and handed on through the state. */
export const RetrainingPolicy = RetrainingPolicyOverrides.required({
  minAucGain: true,
  maxSubgroupAucLoss: true,
  minSubgroupRows: true,
  lookbackDays: true,
  minLabelledRows: true,
  holdoutShare: true,
}).extend({
  // Defaults rather than required: an execution resolved before these existed still parses.
  promoteBy: z.enum(PROMOTION_PATHS).default(DEFAULT_RETRAINING_POLICY.promoteBy),
  release: RetrainingReleaseSettings.default({}),
}) satisfies z.ZodType<RetrainingPolicy, unknown>;

/** Defaults, then the deployment's settings, then the request's: the later wins per field. */
export function resolveRetrainingPolicy(
  deployment: RetrainingPolicyOverrides = {},
  request: RetrainingPolicyOverrides = {},
): RetrainingPolicy {
  return RetrainingPolicy.parse({
    ...DEFAULT_RETRAINING_POLICY,
    ...deployment,
    ...request,
    // The release's settings merge field by field: a request's `bake` keeps the deployment's strategy.
    release: { ...deployment.release, ...request.release },
  });
}
