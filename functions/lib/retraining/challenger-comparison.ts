// The retraining decision: champion and challenger scored on the same recent, labelled holdout;
// the challenger replaces the champion only if it wins overall by a margin and no subgroup does
// worse under it than under the champion by more than ε (fairness against the champion, not
// against a fixed bar). Pure: scores in, verdict with its reasons in words out.
import {
  type ClassifierEvaluation,
  evaluateClassifier,
  type OverallEvaluation,
  type SkippedGateCheck,
  type SubgroupBreakdown,
} from '../evaluation/classifier-evaluation.ts';
import type { RetrainingPolicy } from './retraining-policy.ts';

/** One model's metrics on the holdout: overall, and per subgroup of each gated column. */
export interface HoldoutEvaluation {
  readonly version: number;
  readonly threshold: number;
  readonly overall: OverallEvaluation;
  readonly subgroups: readonly SubgroupBreakdown[];
}

export interface HoldoutScores {
  readonly version: number;
  /** The model's decision threshold. */
  readonly threshold: number;
  /** P(positive) per holdout row, in holdout order. */
  readonly scores: ArrayLike<number>;
}

/**
 * Evaluate a model's holdout `scores` against `labels`, overall and per subgroup: `subgroups`
 * maps each column to every row's value of it.
 */
export function evaluateOnHoldout(
  model: HoldoutScores,
  labels: ArrayLike<number>,
  subgroups: Readonly<Record<string, readonly string[]>>,
): HoldoutEvaluation {
  const columns = Object.entries(subgroups);
  const evaluations: ClassifierEvaluation[] =
    columns.length === 0
      ? [evaluateClassifier({ scores: model.scores, labels, threshold: model.threshold })]
      : columns.map(([column, values]) =>
          evaluateClassifier({
            scores: model.scores,
            labels,
            threshold: model.threshold,
            subgroups: { column, values },
          }),
        );
  const [first] = evaluations;
  if (!first) throw new Error('unreachable: at least one evaluation');
  return {
    version: model.version,
    threshold: model.threshold,
    overall: first.overall,
    subgroups: evaluations.flatMap((e) => (e.subgroups ? [e.subgroups] : [])),
  };
}

/** The two comparison gates. */
export type ComparisonGate = 'auc-gain' | 'log-loss-gain' | 'subgroup-auc-loss';

/** One gate applied to one subject (overall, or a subgroup as `column=value`). */
export interface ComparisonCheck {
  readonly gate: ComparisonGate;
  readonly subject: string;
  readonly passed: boolean;
  readonly champion: number | null;
  readonly challenger: number | null;
  /** Challenger AUC minus champion AUC; null when either is undefined. */
  readonly difference: number | null;
  /** `auc-gain`: the least difference required; `subgroup-auc-loss`: the most loss allowed (ε). */
  readonly limit: number;
  readonly message: string;
}

export type RetrainingDecision = 'promote' | 'keep';

export interface ComparisonVerdict {
  readonly decision: RetrainingDecision;
  /** Why, in words: the passed gates when promoting, what stopped it when keeping. */
  readonly reasons: readonly string[];
  readonly checks: readonly ComparisonCheck[];
  /** Subgroups not gated, and why (too few rows, one class only). */
  readonly skipped: readonly SkippedGateCheck[];
}

export interface ComparisonInput {
  readonly model: string;
  /** Absent: the model has no Production version. */
  readonly champion?: HoldoutEvaluation;
  readonly challenger: HoldoutEvaluation;
  readonly policy: Pick<RetrainingPolicy, 'minAucGain' | 'maxSubgroupAucLoss' | 'minSubgroupRows'>;
}

/** Slack for float rounding, so a difference equal to its limit to the printed digits passes. */
const TOLERANCE = 1e-12;
const f = (v: number) => v.toFixed(3);
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${f(Math.abs(v))}`;

/** Decide whether the challenger replaces the champion (see the module comment). */
export function compareChallenger(input: ComparisonInput): ComparisonVerdict {
  const { model, champion, challenger, policy } = input;
  const keep = (reason: string): ComparisonVerdict => ({
    decision: 'keep',
    reasons: [reason],
    checks: [],
    skipped: [],
  });
  if (!champion)
    return keep(
      `${model} has no Production version to compare against: challenger v${challenger.version} stays in Staging; ` +
        'an automatic retraining never makes the first champion, promote it by hand if it should serve',
    );
  if (champion.version === challenger.version)
    return keep(`challenger v${challenger.version} is already the Production version of ${model}`);

  const subgroups = subgroupLossChecks(champion, challenger, policy, 'holdout');
  const checks: ComparisonCheck[] = [
    aucGainCheck(champion, challenger, policy.minAucGain),
    ...subgroups.checks,
  ];
  const skipped = subgroups.skipped;
  const failed = checks.filter((c) => !c.passed);
  if (failed.length > 0) return { decision: 'keep', reasons: failed.map((c) => c.message), checks, skipped };
  const subgroupChecks = checks.filter((c) => c.gate === 'subgroup-auc-loss');
  const worst = subgroupChecks.reduce<ComparisonCheck | undefined>(
    (low, c) => (low === undefined || (c.difference ?? 0) < (low.difference ?? 0) ? c : low),
    undefined,
  );
  const gain = checks[0] as ComparisonCheck;
  const reasons = [
    gain.message,
    worst
      ? `no subgroup lost more than ${f(policy.maxSubgroupAucLoss)} AUC against the champion ` +
        `(${subgroupChecks.length} gated; closest: ${worst.subject} ${signed(worst.difference ?? 0)})`
      : 'no subgroup had enough holdout rows with both classes to gate on',
  ];
  return { decision: 'promote', reasons, checks, skipped };
}

/**
 * The fairness gate: no subgroup may do worse under the challenger than under the champion by
 * more than ε (AUC on the same subgroup). Subgroups with fewer than `minSubgroupRows` rows, or
 * one class only, are skipped with the reason. `sample` names the rows in the reasons
 * (`holdout`: one shared holdout; a champion/challenger release: each arm's labelled requests).
 */
export function subgroupLossChecks(
  champion: Pick<HoldoutEvaluation, 'subgroups'>,
  challenger: Pick<HoldoutEvaluation, 'subgroups'>,
  policy: Pick<RetrainingPolicy, 'maxSubgroupAucLoss' | 'minSubgroupRows'>,
  sample: string,
): { checks: ComparisonCheck[]; skipped: SkippedGateCheck[] } {
  const checks: ComparisonCheck[] = [];
  const skipped: SkippedGateCheck[] = [];
  for (const breakdown of challenger.subgroups) {
    const theirs = champion.subgroups.find((b) => b.column === breakdown.column);
    for (const group of breakdown.groups) {
      const subject = `${breakdown.column}=${group.value}`;
      const before = theirs?.groups.find((g) => g.value === group.value);
      const fewest = Math.min(group.rows, before?.rows ?? 0);
      if (fewest < policy.minSubgroupRows) {
        skipped.push({
          subject,
          reason: `${fewest} ${sample} rows, fewer than the ${policy.minSubgroupRows} needed to gate on its AUC`,
        });
      } else if (group.metrics.auc === null || !before || before.metrics.auc === null) {
        const one = group.metrics.auc === null || !before ? group : before;
        skipped.push({
          subject,
          reason: `one class only (${one.positives} positive of ${one.rows} rows): AUC is undefined`,
        });
      } else {
        checks.push(subgroupCheck(subject, before.metrics.auc, group.metrics.auc, policy.maxSubgroupAucLoss));
      }
    }
  }
  return { checks, skipped };
}

function aucGainCheck(
  champion: HoldoutEvaluation,
  challenger: HoldoutEvaluation,
  minGain: number,
): ComparisonCheck {
  const before = champion.overall.auc;
  const after = challenger.overall.auc;
  const base = {
    gate: 'auc-gain',
    subject: 'overall',
    champion: before,
    challenger: after,
    limit: minGain,
  } as const;
  const who = `challenger v${challenger.version} vs champion v${champion.version}`;
  if (before === null || after === null)
    return {
      ...base,
      passed: false,
      difference: null,
      message: `${who}: holdout AUC is undefined (the holdout holds one class only); nothing to compare`,
    };
  const difference = after - before;
  const passed = difference >= minGain - TOLERANCE;
  return {
    ...base,
    passed,
    difference,
    message:
      `${who}: holdout AUC ${f(after)} vs ${f(before)}, ${signed(difference)}` +
      (passed ? `, at least the ${signed(minGain)} required` : `, less than the ${signed(minGain)} required`),
  };
}

function subgroupCheck(subject: string, before: number, after: number, maxLoss: number): ComparisonCheck {
  const difference = after - before;
  const passed = difference >= -maxLoss - TOLERANCE;
  return {
    gate: 'subgroup-auc-loss',
    subject,
    passed,
    champion: before,
    challenger: after,
    difference,
    limit: maxLoss,
    message:
      `subgroup ${subject}: challenger AUC ${f(after)} vs champion ${f(before)}, ${signed(difference)}` +
      (passed ? ` (at most ${f(maxLoss)} loss allowed)` : `, a loss of more than the ${f(maxLoss)} allowed`),
  };
}
