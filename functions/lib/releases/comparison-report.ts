// Champion vs challenger on the same requests: the report of a shadow release and of
// `mlops replay`. Pure: rows in (joined by live request id and instance index), numbers out,
// plus a verdict against stated criteria and a short text rendering for the CLI.
import * as z from 'zod';

/** One scored instance, keyed by the live request it belongs to and its position in it. */
export interface ComparedRow {
  /** The live request's id (a shadow record's `shadowOf`, a live record's `requestId`). */
  readonly requestId: string;
  readonly index: number;
  readonly score: number;
  readonly label: 0 | 1;
  /** Latency of the whole request this row was scored in (ms). */
  readonly latencyMs: number;
}

export interface ComparedSide {
  /** Registry version of the model. */
  readonly version: number;
  readonly rows: readonly ComparedRow[];
}

export interface ComparisonInput {
  readonly model: string;
  /** `shadow`: live copies scored by the `shadow` alias; `replay`: captured requests rescored offline. */
  readonly source: 'shadow' | 'replay';
  readonly champion: ComparedSide;
  readonly challenger: ComparedSide & {
    /** Requests the challenger failed to score (an error, not an answer). @default 0 */
    readonly errors?: number;
  };
  /** The captured window the rows come from. */
  readonly window?: { readonly start: string; readonly end: string };
  readonly generatedAt: Date;
}

export interface LatencySummary {
  /** Distinct requests measured. */
  readonly requests: number;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface ComparisonReport {
  readonly model: string;
  readonly source: 'shadow' | 'replay';
  readonly generatedAt: string;
  readonly window?: { readonly start: string; readonly end: string };
  readonly champion: { readonly version: number };
  readonly challenger: { readonly version: number };
  readonly counts: {
    /** Instances both scored (joined on request id and index). */
    readonly pairs: number;
    /** Distinct requests among the pairs. */
    readonly requests: number;
    /** Champion instances with no challenger answer (copy lost, failed, or still in flight). */
    readonly championOnly: number;
    /** Challenger instances with no champion record (e.g. the champion's record fell outside the window). */
    readonly challengerOnly: number;
    /** Repeated rows of one instance on one side (asynchronous invocations are at least once); the first is used. */
    readonly duplicates: number;
    readonly challengerErrors: number;
  };
  /** Share of champion instances the challenger answered: pairs / (pairs + championOnly); null with none. */
  readonly coverage: number | null;
  readonly agreement: {
    /** Share of pairs with the same label; null without pairs. */
    readonly rate: number | null;
    readonly agree: number;
    readonly disagree: number;
    /** Pairs the challenger labels 1 where the champion said 0, and the reverse. */
    readonly toPositive: number;
    readonly toNegative: number;
    readonly championPositiveRate: number | null;
    readonly challengerPositiveRate: number | null;
  };
  /** Score deltas over pairs, Δ = challenger − champion. Null without pairs. */
  readonly scores: {
    readonly championMean: number | null;
    readonly challengerMean: number | null;
    readonly meanDelta: number | null;
    readonly meanAbsDelta: number | null;
    readonly absDelta: {
      readonly p50: number | null;
      readonly p95: number | null;
      readonly max: number | null;
    };
  };
  /** Request latency of each side, over the requests both answered. */
  readonly latencyMs: { readonly champion: LatencySummary; readonly challenger: LatencySummary };
}

/** The value at quantile `q` (0–1) of ascending `sorted`, interpolated linearly; null when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const at = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(at);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (at - lo);
}

const keyOf = (row: ComparedRow) => `${row.requestId}\u0000${row.index}`;

/** First row per instance, and how many repeats were dropped. */
function firstPerInstance(rows: readonly ComparedRow[]): {
  byKey: Map<string, ComparedRow>;
  duplicates: number;
} {
  const byKey = new Map<string, ComparedRow>();
  let duplicates = 0;
  for (const row of rows) {
    const key = keyOf(row);
    if (byKey.has(key)) duplicates++;
    else byKey.set(key, row);
  }
  return { byKey, duplicates };
}

function latencySummary(latencies: number[]): LatencySummary {
  const finite = latencies.filter(Number.isFinite).sort((a, b) => a - b);
  const sum = finite.reduce((s, v) => s + v, 0);
  return {
    requests: finite.length,
    mean: finite.length === 0 ? null : sum / finite.length,
    p50: quantile(finite, 0.5),
    p99: quantile(finite, 0.99),
  };
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole);

/** Join the two sides and summarize agreement, score deltas and latency. */
export function compareChampionChallenger(input: ComparisonInput): ComparisonReport {
  const champion = firstPerInstance(input.champion.rows);
  const challenger = firstPerInstance(input.challenger.rows);
  let agree = 0;
  let toPositive = 0;
  let toNegative = 0;
  let championPositive = 0;
  let challengerPositive = 0;
  let championSum = 0;
  let challengerSum = 0;
  let deltaSum = 0;
  const absDeltas: number[] = [];
  const championLatency = new Map<string, number>();
  const challengerLatency = new Map<string, number>();
  let championOnly = 0;
  for (const [key, a] of champion.byKey) {
    const b = challenger.byKey.get(key);
    if (!b) {
      championOnly++;
      continue;
    }
    if (a.label === b.label) agree++;
    else if (b.label === 1) toPositive++;
    else toNegative++;
    championPositive += a.label;
    challengerPositive += b.label;
    championSum += a.score;
    challengerSum += b.score;
    const delta = b.score - a.score;
    deltaSum += delta;
    absDeltas.push(Math.abs(delta));
    // Latency is per request: every instance of one carries the same.
    if (!championLatency.has(a.requestId)) championLatency.set(a.requestId, a.latencyMs);
    if (!challengerLatency.has(a.requestId)) challengerLatency.set(a.requestId, b.latencyMs);
  }
  let challengerOnly = 0;
  for (const key of challenger.byKey.keys()) if (!champion.byKey.has(key)) challengerOnly++;
  const pairs = absDeltas.length;
  absDeltas.sort((x, y) => x - y);
  return {
    model: input.model,
    source: input.source,
    generatedAt: input.generatedAt.toISOString(),
    ...(input.window ? { window: input.window } : {}),
    champion: { version: input.champion.version },
    challenger: { version: input.challenger.version },
    counts: {
      pairs,
      requests: championLatency.size,
      championOnly,
      challengerOnly,
      duplicates: champion.duplicates + challenger.duplicates,
      challengerErrors: input.challenger.errors ?? 0,
    },
    coverage: ratio(pairs, pairs + championOnly),
    agreement: {
      rate: ratio(agree, pairs),
      agree,
      disagree: pairs - agree,
      toPositive,
      toNegative,
      championPositiveRate: ratio(championPositive, pairs),
      challengerPositiveRate: ratio(challengerPositive, pairs),
    },
    scores: {
      championMean: ratio(championSum, pairs),
      challengerMean: ratio(challengerSum, pairs),
      meanDelta: ratio(deltaSum, pairs),
      meanAbsDelta: ratio(
        absDeltas.reduce((s, v) => s + v, 0),
        pairs,
      ),
      absDelta: {
        p50: quantile(absDeltas, 0.5),
        p95: quantile(absDeltas, 0.95),
        max: pairs === 0 ? null : (absDeltas[pairs - 1] as number),
      },
    },
    latencyMs: {
      champion: latencySummary([...championLatency.values()]),
      challenger: latencySummary([...challengerLatency.values()]),
    },
  };
}

/** What a challenger must show to pass. Every bound is optional; unset bounds are not judged. */
export interface ComparisonCriteria {
  /** Fewer pairs than this: `insufficient-data`. @default 100 */
  readonly minPairs?: number;
  /** Lowest share of pairs with the same label. @default 0.9 */
  readonly minAgreement?: number;
  /** Highest mean |Δscore|. @default 0.1 */
  readonly maxMeanAbsDelta?: number;
  /** Highest challenger errors per request sent (errors / (requests + errors)). @default 0.01 */
  readonly maxErrorRate?: number;
  /** Highest challenger p99 latency as a multiple of the champion's. @default 2 */
  readonly maxLatencyP99Ratio?: number;
  /** Lowest coverage (answered share of champion instances). @default 0.5 */
  readonly minCoverage?: number;
}

/** ComparisonCriteria as a release request gives them (validated). */
export const ComparisonCriteriaSchema = z
  .object({
    minPairs: z.number().int().min(0),
    minAgreement: z.number().min(0).max(1),
    maxMeanAbsDelta: z.number().min(0).max(1),
    maxErrorRate: z.number().min(0).max(1),
    maxLatencyP99Ratio: z.number().positive(),
    minCoverage: z.number().min(0).max(1),
  })
  .partial()
  .strict();

export const DEFAULT_COMPARISON_CRITERIA: Required<ComparisonCriteria> = {
  minPairs: 100,
  minAgreement: 0.9,
  maxMeanAbsDelta: 0.1,
  maxErrorRate: 0.01,
  maxLatencyP99Ratio: 2,
  minCoverage: 0.5,
};

export interface ComparisonVerdict {
  readonly verdict: 'pass' | 'fail' | 'insufficient-data';
  /** Each failed bound, in words with its numbers; for `pass`, each bound met. */
  readonly reasons: readonly string[];
  readonly criteria: Required<ComparisonCriteria>;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** Judge a report against `criteria` (laid over the defaults). */
export function judgeComparison(
  report: ComparisonReport,
  criteria: ComparisonCriteria = {},
): ComparisonVerdict {
  const c = { ...DEFAULT_COMPARISON_CRITERIA, ...criteria };
  const { counts } = report;
  if (counts.pairs < c.minPairs)
    return {
      verdict: 'insufficient-data',
      reasons: [`${counts.pairs} pairs compared, fewer than the ${c.minPairs} required`],
      criteria: c,
    };
  const failed: string[] = [];
  const met: string[] = [];
  const check = (ok: boolean, pass: string, fail: string) => (ok ? met : failed).push(ok ? pass : fail);
  const agreement = report.agreement.rate ?? 0;
  check(
    agreement >= c.minAgreement,
    `agreement ${pct(agreement)} ≥ ${pct(c.minAgreement)}`,
    `agreement ${pct(agreement)} is below ${pct(c.minAgreement)}`,
  );
  const meanAbs = report.scores.meanAbsDelta ?? 0;
  check(
    meanAbs <= c.maxMeanAbsDelta,
    `mean |Δscore| ${meanAbs.toFixed(4)} ≤ ${c.maxMeanAbsDelta}`,
    `mean |Δscore| ${meanAbs.toFixed(4)} exceeds ${c.maxMeanAbsDelta}`,
  );
  const attempts = counts.requests + counts.challengerErrors;
  const errorRate = attempts === 0 ? 0 : counts.challengerErrors / attempts;
  check(
    errorRate <= c.maxErrorRate,
    `challenger error rate ${pct(errorRate)} ≤ ${pct(c.maxErrorRate)}`,
    `challenger error rate ${pct(errorRate)} (${counts.challengerErrors} errors) exceeds ${pct(c.maxErrorRate)}`,
  );
  const coverage = report.coverage ?? 0;
  check(
    coverage >= c.minCoverage,
    `coverage ${pct(coverage)} ≥ ${pct(c.minCoverage)}`,
    `coverage ${pct(coverage)} is below ${pct(c.minCoverage)}: too few copies were answered to judge`,
  );
  const { champion, challenger } = report.latencyMs;
  if (report.source === 'shadow' && champion.p99 !== null && challenger.p99 !== null && champion.p99 > 0) {
    const latencyRatio = challenger.p99 / champion.p99;
    check(
      latencyRatio <= c.maxLatencyP99Ratio,
      `challenger p99 latency ${latencyRatio.toFixed(2)}× the champion's ≤ ${c.maxLatencyP99Ratio}×`,
      `challenger p99 latency ${challenger.p99.toFixed(1)} ms is ${latencyRatio.toFixed(2)}× the champion's ${champion.p99.toFixed(1)} ms (limit ${c.maxLatencyP99Ratio}×)`,
    );
  }
  return failed.length > 0
    ? { verdict: 'fail', reasons: failed, criteria: c }
    : { verdict: 'pass', reasons: met, criteria: c };
}

const fixed = (v: number | null, digits = 4) => (v === null ? '-' : v.toFixed(digits));
const signed = (v: number | null, digits = 4) =>
  v === null ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} ms`);
const share = (v: number | null) => (v === null ? '-' : pct(v));

/** The report in a few aligned lines, for people; `extra` lines (label, text) are aligned with them. */
export function renderComparisonText(
  report: ComparisonReport,
  verdict?: ComparisonVerdict,
  extra: ReadonlyArray<readonly [string, string]> = [],
): string {
  const { counts, agreement, scores, latencyMs } = report;
  const lines: Array<readonly [string, string]> = [
    [
      report.model,
      `${report.source}: v${report.champion.version} (champion) vs v${report.challenger.version} (challenger)`,
    ],
  ];
  if (report.window) lines.push(['window', `${report.window.start} → ${report.window.end}`]);
  lines.push(
    [
      'pairs',
      `${counts.pairs} instances of ${counts.requests} requests; coverage ${share(report.coverage)} (${counts.championOnly} champion-only, ${counts.challengerOnly} challenger-only, ${counts.duplicates} duplicates)`,
    ],
    ['errors', `challenger ${counts.challengerErrors}`],
    [
      'agreement',
      `${share(agreement.rate)} same label (${agreement.toPositive} to positive, ${agreement.toNegative} to negative; positive rate ${share(agreement.championPositiveRate)} → ${share(agreement.challengerPositiveRate)})`,
    ],
    [
      'scores',
      `mean ${fixed(scores.championMean)} → ${fixed(scores.challengerMean)} (Δ ${signed(scores.meanDelta)}); |Δ| mean ${fixed(scores.meanAbsDelta)}, p50 ${fixed(scores.absDelta.p50)}, p95 ${fixed(scores.absDelta.p95)}, max ${fixed(scores.absDelta.max)}`,
    ],
    [
      'latency',
      `champion p50 ${ms(latencyMs.champion.p50)}, p99 ${ms(latencyMs.champion.p99)}; challenger p50 ${ms(latencyMs.challenger.p50)}, p99 ${ms(latencyMs.challenger.p99)}${report.source === 'replay' ? ' (offline, in-process: not comparable with served latency)' : ''}`,
    ],
  );
  if (verdict) lines.push(['verdict', `${verdict.verdict} — ${verdict.reasons.join('; ')}`]);
  lines.push(...extra);
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
