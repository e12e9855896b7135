// Champion/challenger releases: the challenger serves a fixed slice of live traffic and the
// champion the rest until a decision window has passed; then each arm's captured predictions are
// joined with the ground truth that has arrived for them, and the challenger is promoted only if
// it beats the champion on the agreed metric — by the margin, beyond the noise of two different
// samples of requests (an unpaired comparison: a one-sided confidence bound on the gain must be
// above zero), with enough labelled predictions in each arm, and with no subgroup doing worse
// under it than under the champion by more than ε. Pure: settings, joined samples and verdicts.
import * as z from 'zod';
import { InvalidRequest } from '../errors.ts';
import type { SkippedGateCheck } from '../evaluation/classifier-evaluation.ts';
import {
  type ComparisonCheck,
  evaluateOnHoldout,
  type HoldoutEvaluation,
  subgroupLossChecks,
} from '../retraining/challenger-comparison.ts';
import type { LabelledRecord } from '../retraining/ground-truth.ts';
import type { TrainingRecipe } from '../training/recipes.ts';

/** The metrics a champion/challenger release may be decided on (both need no threshold). */
export const DECISION_METRICS = ['auc', 'log-loss'] as const;
export type DecisionMetric = (typeof DECISION_METRICS)[number];

/** Longest decision window: a week of traffic, as for a shadow. */
export const MAX_DECISION_WINDOW_SECONDS = 7 * 86_400;
/** Longest wait after the window for its last capture records. */
export const MAX_DECISION_SETTLE_SECONDS = 3_600;

const DecisionMetricName = z.enum(DECISION_METRICS, {
  error: (issue) =>
    `metric must be one of ${DECISION_METRICS.join(', ')} (got ${JSON.stringify(issue.input)})`,
});

/** How a champion/challenger release decides; every field has a platform default. */
export const DecisionPolicy = z
  .object({
    /** How long the challenger serves its slice before the decision. */
    windowSeconds: z.number().int().min(1).max(MAX_DECISION_WINDOW_SECONDS),
    /** After the window: how long the capture stream may still be delivering its records. */
    settleSeconds: z.number().int().min(0).max(MAX_DECISION_SETTLE_SECONDS),
    /** The agreed metric. */
    metric: DecisionMetricName,
    /** Least improvement on the metric (AUC up, log loss down) that counts as beating the champion. */
    minGain: z.number().min(0).max(1),
    /** One-sided confidence that the gain is above zero (0.95: its 95% lower bound must be > 0). */
    confidence: z.number().min(0.5).max(0.999),
    /** Fewest labelled predictions each arm needs before it is judged at all. */
    minLabelledRows: z.number().int().min(20),
    /** No subgroup's AUC may fall more than this (ε) under the challenger, against the champion's. */
    maxSubgroupAucLoss: z.number().min(0).max(1),
    /** Subgroups with fewer labelled predictions in either arm are reported, not gated. */
    minSubgroupRows: z.number().int().min(1),
  })
  .strict();
export type DecisionPolicy = z.infer<typeof DecisionPolicy>;
export const DecisionPolicyOverrides = DecisionPolicy.partial();
export type DecisionPolicyOverrides = z.infer<typeof DecisionPolicyOverrides>;

/** The platform's defaults; the deployment, the model and the request may override each. */
export const DEFAULT_DECISION_POLICY: DecisionPolicy = {
  windowSeconds: 86_400,
  settleSeconds: 120,
  metric: 'auc',
  minGain: 0.005,
  confidence: 0.95,
  minLabelledRows: 200,
  maxSubgroupAucLoss: 0.02,
  minSubgroupRows: 200,
};

/** The share of traffic the challenger serves during the window when nothing says otherwise. */
export const DEFAULT_SLICE_PERCENT = 10;

/** A slice: the challenger's share of the live alias during the window, in (0, 100). */
export const SlicePercent = z
  .number()
  .gt(0, 'the slice must send the challenger some traffic')
  .lt(100, 'the slice must leave the champion some traffic: it is a comparison, not a flip');

/** `10` or `10%` as a checked slice. */
export function parseSlice(text: string | number): number {
  const value =
    typeof text === 'number' ? text : /^\s*\d+(\.\d+)?%?\s*$/.test(text) ? Number.parseFloat(text) : NaN;
  const parsed = SlicePercent.safeParse(value);
  if (!parsed.success)
    throw new InvalidRequest(
      `slice must be a percentage of traffic between 0 and 100, like 10 (got ${JSON.stringify(text)})${
        Number.isNaN(value) ? '' : `: ${parsed.error.issues[0]?.message}`
      }`,
    );
  return parsed.data;
}

/** One labelled prediction of an arm: what was scored, the outcome, and the instance's subgroups. */
export interface ArmRow {
  readonly score: number;
  readonly label: 0 | 1;
  /** Subgroup value per subgroup column of the recipe. */
  readonly subgroups: Readonly<Record<string, string>>;
}

/** What the join found for one arm. */
export interface ArmSample {
  readonly functionVersion: string;
  readonly modelVersion: number;
  /** Live predictions captured in the window. */
  readonly captured: number;
  /** Of those, the ones with an outcome. */
  readonly rows: readonly ArmRow[];
}

/**
 * Outcomes by instance key. One instance labelled both ways (two flights alike to the minute,
 * one late, one not) says nothing about a prediction for it: such keys are left out and counted.
 */
export class OutcomeIndex {
  private readonly labels = new Map<string, 0 | 1 | 'conflict'>();

  constructor(
    records: Iterable<Pick<LabelledRecord, 'row' | 'label'>>,
    private readonly recipe: TrainingRecipe,
  ) {
    for (const { row, label } of records) {
      const key = instanceKeyOf(row, recipe);
      if (key === undefined) continue;
      const seen = this.labels.get(key);
      this.labels.set(key, seen === undefined || seen === label ? label : 'conflict');
    }
  }

  /** Keys labelled both ways. */
  get conflicting(): number {
    let n = 0;
    for (const label of this.labels.values()) if (label === 'conflict') n++;
    return n;
  }

  get size(): number {
    return this.labels.size;
  }

  /** The outcome of an instance as served; undefined when none (or a conflicting one) arrived. */
  outcomeOf(instance: Readonly<Record<string, unknown>>): 0 | 1 | undefined {
    const key = instanceKeyOf(instance, this.recipe);
    return key === undefined ? undefined : this.outcomeOfKey(key);
  }

  /** The outcome under an instance key (`servedInstance(…).key`). */
  outcomeOfKey(key: string): 0 | 1 | undefined {
    const label = this.labels.get(key);
    return label === 'conflict' ? undefined : label;
  }
}

/**
 * The key of an instance (a served one, or a ground-truth row with its outcome columns): the
 * recipe's own identity of the instance after the feature set's validation, so `dtw` and `DTW`
 * are one airport. Undefined for a row that is not a valid instance.
 */
export function instanceKeyOf(
  row: Readonly<Record<string, unknown>>,
  recipe: TrainingRecipe,
): string | undefined {
  const instance: Record<string, unknown> = { ...row };
  for (const column of recipe.labelColumns) delete instance[column];
  const parsed = recipe.featureSet.instanceSchema.safeParse(instance);
  return parsed.success ? recipe.instanceKey(parsed.data) : undefined;
}

/**
 * An instance as served, validated once: its key (to find its outcome) and its value for every
 * slicing the recipe defines. Undefined for an input that is not a valid instance.
 */
export function servedInstance(
  instance: Readonly<Record<string, unknown>>,
  recipe: TrainingRecipe,
): { readonly key: string; readonly subgroups: Record<string, string> } | undefined {
  const parsed = recipe.featureSet.instanceSchema.safeParse(instance);
  if (!parsed.success) return undefined;
  return {
    key: recipe.instanceKey(parsed.data),
    subgroups: Object.fromEntries(
      Object.entries(recipe.subgroups).map(([column, slice]) => [column, slice(parsed.data)]),
    ),
  };
}

/** One arm's figures in the decision. */
export interface ArmResult {
  readonly modelVersion: number;
  readonly functionVersion: string;
  readonly captured: number;
  readonly labelled: number;
  readonly positives: number;
  readonly auc: number | null;
  readonly logLoss: number | null;
  /** The agreed metric's value. */
  readonly metric: number | null;
}

export type ChallengerDecision = 'promote' | 'keep';

export interface DecisionVerdict {
  readonly decision: ChallengerDecision;
  /** Why, in words: the gates passed when promoting, what stopped it when keeping. */
  readonly reasons: readonly string[];
  readonly metric: DecisionMetric;
  readonly champion: ArmResult;
  readonly challenger: ArmResult;
  /** Improvement on the metric (AUC up, log loss down); null when it could not be measured. */
  readonly gain: number | null;
  /** Standard error of the gain (the two arms are independent samples). */
  readonly standardError: number | null;
  /** One-sided lower confidence bound of the gain at `confidence`. */
  readonly lowerBound: number | null;
  readonly checks: readonly ComparisonCheck[];
  readonly skipped: readonly { readonly subject: string; readonly reason: string }[];
}

const f = (v: number) => v.toFixed(3);
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${f(Math.abs(v))}`;
const TOLERANCE = 1e-12;

/** Decide whether the challenger replaces the champion (see the module comment). */
export function decideChampionChallenger(input: {
  readonly model: string;
  readonly champion: ArmSample;
  readonly challenger: ArmSample;
  readonly policy: DecisionPolicy;
}): DecisionVerdict {
  const { policy } = input;
  // An arm without a labelled prediction has no metrics at all (and is too short to judge).
  const champion = evaluateArm(input.champion);
  const challenger = evaluateArm(input.challenger);
  const results = {
    champion: armResult(input.champion, champion, policy.metric),
    challenger: armResult(input.challenger, challenger, policy.metric),
  };
  const base = { metric: policy.metric, ...results };
  const who = `challenger v${results.challenger.modelVersion} vs champion v${results.champion.modelVersion}`;
  const name = policy.metric === 'auc' ? 'AUC' : 'log loss';
  const keep = (reasons: string[], extra: Partial<DecisionVerdict> = {}): DecisionVerdict => ({
    decision: 'keep',
    reasons,
    gain: null,
    standardError: null,
    lowerBound: null,
    checks: [],
    skipped: [],
    ...base,
    ...extra,
  });

  const short = (['champion', 'challenger'] as const).filter(
    (arm) => results[arm].labelled < policy.minLabelledRows,
  );
  if (short.length > 0)
    return keep([
      `${who}: too few labelled predictions to judge — ${short
        .map((arm) => `${arm} ${results[arm].labelled} of ${results[arm].captured} captured`)
        .join(
          ', ',
        )}; at least ${policy.minLabelledRows} per arm are needed (a longer window, a larger slice, or ground truth for more of the window)`,
    ]);
  const estimate =
    policy.metric === 'auc'
      ? aucGain(results.champion, results.challenger)
      : logLossGain(input.champion.rows, input.challenger.rows);
  if (!champion || !challenger) throw new Error('unreachable: both arms have labelled predictions');
  if (!estimate)
    return keep([
      `${who}: live ${name} is undefined on an arm holding one class only (champion ${results.champion.positives} positive of ${results.champion.labelled}, challenger ${results.challenger.positives} of ${results.challenger.labelled})`,
    ]);
  const z = normalQuantile(policy.confidence);
  const lowerBound = estimate.gain - z * estimate.standardError;
  const measured = {
    gain: estimate.gain,
    standardError: estimate.standardError,
    lowerBound,
  };
  const values = `live ${name} ${f(results.challenger.metric ?? Number.NaN)} vs ${f(results.champion.metric ?? Number.NaN)}`;
  const gainCheck: ComparisonCheck = {
    gate: policy.metric === 'auc' ? 'auc-gain' : 'log-loss-gain',
    subject: 'overall',
    passed: estimate.gain >= policy.minGain - TOLERANCE,
    champion: results.champion.metric,
    challenger: results.challenger.metric,
    difference: estimate.gain,
    limit: policy.minGain,
    message:
      `${who}: ${values}, a gain of ${signed(estimate.gain)}` +
      (estimate.gain >= policy.minGain - TOLERANCE
        ? `, at least the ${signed(policy.minGain)} required`
        : `, less than the ${signed(policy.minGain)} required`),
  };
  const significant = lowerBound > 0;
  const noise = `the gain's ${Math.round(policy.confidence * 100)}% lower bound is ${signed(lowerBound)} (standard error ${f(estimate.standardError)}, ${results.champion.labelled} and ${results.challenger.labelled} labelled predictions)`;
  const subgroups = beyondNoise(
    subgroupLossChecks(
      champion,
      challenger,
      { maxSubgroupAucLoss: policy.maxSubgroupAucLoss, minSubgroupRows: policy.minSubgroupRows },
      'labelled',
    ),
    champion,
    challenger,
    z,
  );
  const checks = [gainCheck, ...subgroups.checks];
  const failed = [
    ...(gainCheck.passed ? [] : [gainCheck.message]),
    ...(significant ? [] : [`${who}: not distinguishable from noise: ${noise}`]),
    ...subgroups.checks.filter((c) => !c.passed).map((c) => c.message),
  ];
  if (failed.length > 0) return keep(failed, { ...measured, checks, skipped: subgroups.skipped });
  const gated = subgroups.checks.length;
  return {
    decision: 'promote',
    reasons: [
      gainCheck.message,
      `beyond noise: ${noise}`,
      gated > 0
        ? `no subgroup lost more than ${f(policy.maxSubgroupAucLoss)} AUC against the champion beyond noise (${gated} gated)`
        : 'no subgroup had enough labelled predictions with both classes in both arms to gate on',
    ],
    ...base,
    ...measured,
    checks,
    skipped: subgroups.skipped,
  };
}

/**
 * The subgroup gate on two different samples: a subgroup's AUC in one arm and the other differ by
 * noise alone (with a dozen subgroups of a few hundred rows, some always "lose" 0.02), so a loss
 * beyond ε fails only when it is also confident — the difference's upper bound at the policy's
 * confidence below zero. A loss within the noise passes and says so.
 */
function beyondNoise(
  gate: { checks: ComparisonCheck[]; skipped: SkippedGateCheck[] },
  champion: HoldoutEvaluation,
  challenger: HoldoutEvaluation,
  z: number,
): { checks: ComparisonCheck[]; skipped: SkippedGateCheck[] } {
  const group = (e: HoldoutEvaluation, subject: string) => {
    const [column, ...rest] = subject.split('=');
    const value = rest.join('=');
    return e.subgroups.find((b) => b.column === column)?.groups.find((g) => g.value === value);
  };
  const checks = gate.checks.map((check) => {
    if (check.passed || check.difference === null || check.champion === null || check.challenger === null)
      return check;
    const before = group(champion, check.subject);
    const after = group(challenger, check.subject);
    if (!before || !after) return check;
    const se = Math.sqrt(
      aucVariance(check.champion, before.positives, before.rows - before.positives) +
        aucVariance(check.challenger, after.positives, after.rows - after.positives),
    );
    const upper = check.difference + z * se;
    if (upper < 0)
      return { ...check, message: `${check.message}, beyond noise (upper bound ${signed(upper)})` };
    return {
      ...check,
      passed: true,
      message: `${check.message} — but within noise (upper bound ${signed(upper)}, standard error ${f(se)}): not held against it`,
    };
  });
  return { checks, skipped: gate.skipped };
}

/** The arm's metrics, overall and per subgroup; undefined without a labelled prediction. */
function evaluateArm(arm: ArmSample): HoldoutEvaluation | undefined {
  if (arm.rows.length === 0) return undefined;
  const columns = new Set(arm.rows.flatMap((r) => Object.keys(r.subgroups)));
  const subgroups = Object.fromEntries(
    [...columns].sort().map((c) => [c, arm.rows.map((r) => r.subgroups[c] ?? '(none)')]),
  );
  // AUC and log loss need no threshold; 0.5 only fills the threshold-based figures nobody reads here.
  return evaluateOnHoldout(
    { version: arm.modelVersion, threshold: 0.5, scores: arm.rows.map((r) => r.score) },
    arm.rows.map((r) => r.label),
    subgroups,
  );
}

function armResult(
  arm: ArmSample,
  evaluation: HoldoutEvaluation | undefined,
  metric: DecisionMetric,
): ArmResult {
  const auc = evaluation?.overall.auc ?? null;
  const logLoss = evaluation?.overall.logLoss ?? null;
  return {
    modelVersion: arm.modelVersion,
    functionVersion: arm.functionVersion,
    captured: arm.captured,
    labelled: arm.rows.length,
    positives: arm.rows.reduce((n, r) => n + r.label, 0),
    auc,
    logLoss,
    metric: metric === 'auc' ? auc : logLoss,
  };
}

interface GainEstimate {
  readonly gain: number;
  readonly standardError: number;
}

/**
 * AUC gain and its standard error from two independent samples, each AUC's variance by Hanley &
 * McNeil (1982): exact enough for the hundreds to thousands of predictions a window holds.
 */
function aucGain(champion: ArmResult, challenger: ArmResult): GainEstimate | undefined {
  if (champion.auc === null || challenger.auc === null) return undefined;
  const variance = (arm: ArmResult, auc: number) =>
    aucVariance(auc, arm.positives, arm.labelled - arm.positives);
  return {
    gain: challenger.auc - champion.auc,
    standardError: Math.sqrt(variance(champion, champion.auc) + variance(challenger, challenger.auc)),
  };
}

/** Hanley & McNeil's variance of an AUC measured on `positives` and `negatives` rows. */
export function aucVariance(auc: number, positives: number, negatives: number): number {
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  return (
    (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) /
    (positives * negatives)
  );
}

/** Log-loss gain (champion's minus challenger's: lower is better) and its standard error. */
function logLossGain(champion: readonly ArmRow[], challenger: readonly ArmRow[]): GainEstimate | undefined {
  const a = meanAndVariance(champion.map(rowLoss));
  const b = meanAndVariance(challenger.map(rowLoss));
  if (!a || !b) return undefined;
  return { gain: a.mean - b.mean, standardError: Math.sqrt(a.variance / a.n + b.variance / b.n) };
}

/** Probabilities clipped as the training metrics clip them (functions/lib/training/metrics.ts). */
const LOG_LOSS_EPSILON = 1e-15;
const rowLoss = (r: ArmRow) => {
  const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, r.score));
  return r.label === 1 ? -Math.log(p) : -Math.log(1 - p);
};

function meanAndVariance(
  values: readonly number[],
): { mean: number; variance: number; n: number } | undefined {
  const n = values.length;
  if (n < 2) return undefined;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, variance, n };
}

/**
 * The standard normal quantile (inverse CDF) at p in (0, 1): Acklam's rational approximation,
 * relative error below 1.2e-9 — plenty for a confidence bound.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const poly = (coef: number[], x: number) => coef.reduce((acc, k) => acc * x + k, 0);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}
