// Is a release healthy? The served path's alarms, and the challenger compared with the champion
// on the same window: function error rate, 5xx answers, p99 latency and the mean prediction score
// (a model can be healthy as software and wrong as a model). Pure: the probe port supplies the
// numbers (CloudWatch on AWS and locally); too little traffic to compare is a note, never a breach.
import * as z from 'zod';

/** When the challenger counts as worse than the champion. */
export const HealthThresholds = z
  .object({
    /** Requests the challenger must have served before its rates are compared. */
    minRequests: z.number().int().min(1),
    /** Most the challenger's error rate may exceed the champion's, as a fraction (0.02 = 2 points). */
    maxErrorRateIncrease: z.number().min(0).max(1),
    /**
     * Latency samples each version needs before p99s are compared: enough that a new version's
     * few cold starts (model loads) stay under 1 % of them.
     */
    minLatencySamples: z.number().int().min(1),
    /** The challenger's p99 may be this many times the champion's … */
    maxLatencyP99Ratio: z.number().min(1),
    /** … or this many milliseconds above it, whichever is more (cold starts, small numbers). */
    latencyP99SlackMs: z.number().min(0),
    /** Most the mean prediction score may move between champion and challenger. */
    maxMeanScoreShift: z.number().min(0).max(1),
    /**
     * Scored requests each version needs before mean scores are compared. A mean over a handful of
     * requests moves by more than `maxMeanScoreShift` by chance (scores spread ~0.15: at 14 requests
     * the standard error is 0.04); at 200 it is ~0.01, a tenth of the allowed shift.
     */
    minScoreSamples: z.number().int().min(1),
    /**
     * Prediction requests the challenger must have answered over the whole release before it may
     * be promoted: a release nobody exercised is rolled back as inconclusive instead of passing on
     * notes alone. 0 turns the gate off (the default: a quiet local platform or a test deployment
     * still releases). Optional, so a release started before the field existed still parses.
     */
    minChallengerRequestsToPromote: z.number().int().min(0).optional(),
  })
  .strict();
export type HealthThresholds = z.infer<typeof HealthThresholds>;

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  minRequests: 10,
  maxErrorRateIncrease: 0.02,
  minLatencySamples: 200,
  maxLatencyP99Ratio: 1.5,
  latencyP99SlackMs: 100,
  maxMeanScoreShift: 0.1,
  minScoreSamples: 200,
  minChallengerRequestsToPromote: 0,
};

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmStatus {
  readonly name: string;
  readonly state: AlarmStateValue;
  readonly reason?: string;
  /** ISO time of the last state change. */
  readonly since?: string;
}

/** One version's traffic and outcomes over the release window. */
export interface VersionStats {
  /** Lambda version number. */
  readonly version: string;
  /** Invocations through the alias that this version ran (AWS/Lambda Invocations by ExecutedVersion). */
  readonly invocations: number;
  /** Of those, unhandled failures (AWS/Lambda Errors). */
  readonly functionErrors: number;
  /** Prediction requests of the model this version answered (MLOps, by FunctionVersion). */
  readonly requests: number;
  /** Of those, answered with a 5xx (MLOps PredictionServerErrors). */
  readonly serverErrors: number;
  /** p99 of PredictionLatency over the window, ms. */
  readonly latencyP99Ms?: number;
  readonly latencySamples: number;
  /** Mean of PredictionMeanScore over the window. */
  readonly meanScore?: number;
  readonly scoreSamples: number;
}

export interface VersionComparison {
  readonly champion: VersionStats;
  readonly challenger: VersionStats;
}

export interface StatsQuery {
  readonly functionName: string;
  readonly alias: string;
  readonly model: string;
  readonly champion: string;
  readonly challenger: string;
  readonly start: Date;
  readonly end: Date;
}

/** Port: where alarm states and per-version numbers come from. */
export interface HealthProbe {
  /** The states of the alarms named (alarms that do not exist are left out). */
  alarms(names: readonly string[]): Promise<AlarmStatus[]>;
  versionStats(query: StatsQuery): Promise<VersionComparison>;
}

export interface HealthVerdict {
  readonly healthy: boolean;
  /** Why it is not healthy (empty when healthy). */
  readonly breaches: readonly string[];
  /** What could not be judged yet, and why. */
  readonly notes: readonly string[];
}

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const rate = (part: number, whole: number) => (whole > 0 ? part / whole : 0);

/** The verdict of one check: alarms first, then the challenger against the champion. */
export function judgeHealth(input: {
  readonly alarms: readonly AlarmStatus[];
  readonly comparison: VersionComparison;
  readonly thresholds: HealthThresholds;
  /**
   * This check ends the last bake: the next step promotes. Here too little traffic is no longer
   * a note — a challenger under `minChallengerRequestsToPromote` requests is inconclusive, a breach.
   */
  readonly beforePromotion?: boolean;
}): HealthVerdict {
  const { champion, challenger } = input.comparison;
  const t = input.thresholds;
  const breaches: string[] = [];
  const notes: string[] = [];
  for (const alarm of input.alarms)
    if (alarm.state === 'ALARM')
      breaches.push(`alarm ${alarm.name} is in ALARM${alarm.reason ? `: ${alarm.reason}` : ''}`);

  const who = `challenger v${challenger.version}`;
  const vs = `champion v${champion.version}`;
  const compareRate = (
    label: string,
    newPart: number,
    newWhole: number,
    oldPart: number,
    oldWhole: number,
  ) => {
    if (newWhole < t.minRequests) {
      notes.push(`${label}: ${who} has ${newWhole} of the ${t.minRequests} requests needed to compare`);
      return;
    }
    const newRate = rate(newPart, newWhole);
    const oldRate = rate(oldPart, oldWhole);
    if (newRate - oldRate > t.maxErrorRateIncrease)
      breaches.push(
        `${label}: ${who} ${newPart} of ${newWhole} (${pct(newRate)}) vs ${vs} ${oldPart} of ${oldWhole} ` +
          `(${pct(oldRate)}), more than +${(t.maxErrorRateIncrease * 100).toFixed(1)} points`,
      );
  };
  compareRate(
    'function errors',
    challenger.functionErrors,
    challenger.invocations,
    champion.functionErrors,
    champion.invocations,
  );
  compareRate(
    '5xx answers',
    challenger.serverErrors,
    challenger.requests,
    champion.serverErrors,
    champion.requests,
  );

  if (
    challenger.latencySamples < t.minLatencySamples ||
    champion.latencySamples < t.minLatencySamples ||
    challenger.latencyP99Ms === undefined ||
    champion.latencyP99Ms === undefined
  ) {
    notes.push(
      `p99 latency: ${challenger.latencySamples} and ${champion.latencySamples} samples, ${t.minLatencySamples} each needed to compare`,
    );
  } else {
    const limit = Math.max(
      champion.latencyP99Ms * t.maxLatencyP99Ratio,
      champion.latencyP99Ms + t.latencyP99SlackMs,
    );
    if (challenger.latencyP99Ms > limit)
      breaches.push(
        `p99 latency: ${who} ${challenger.latencyP99Ms.toFixed(0)} ms vs ${vs} ${champion.latencyP99Ms.toFixed(0)} ms, ` +
          `above the ${limit.toFixed(0)} ms allowed`,
      );
  }

  if (
    challenger.scoreSamples < t.minScoreSamples ||
    champion.scoreSamples < t.minScoreSamples ||
    challenger.meanScore === undefined ||
    champion.meanScore === undefined
  ) {
    notes.push(
      `mean score: ${challenger.scoreSamples} and ${champion.scoreSamples} scored requests, ${t.minScoreSamples} each needed to compare`,
    );
  } else {
    const shift = challenger.meanScore - champion.meanScore;
    if (Math.abs(shift) > t.maxMeanScoreShift)
      breaches.push(
        `mean score: ${who} ${challenger.meanScore.toFixed(3)} vs ${vs} ${champion.meanScore.toFixed(3)} ` +
          `(${shift > 0 ? '+' : ''}${shift.toFixed(3)}), more than ±${t.maxMeanScoreShift} apart`,
      );
  }
  const minimum = t.minChallengerRequestsToPromote ?? 0;
  if (input.beforePromotion && challenger.requests < minimum)
    breaches.push(
      `inconclusive: ${who} answered ${challenger.requests} prediction requests during the release, ` +
        `fewer than the ${minimum} it needs before it may be promoted`,
    );
  return { healthy: breaches.length === 0, breaches, notes };
}

/** `40 req, 0 err, p99 38 ms, score 0.214` for logs and the release record. */
export function describeStats(s: VersionStats): string {
  const parts = [
    `${s.invocations} inv`,
    `${s.functionErrors + s.serverErrors} err`,
    s.latencyP99Ms === undefined ? undefined : `p99 ${s.latencyP99Ms.toFixed(0)} ms`,
    s.meanScore === undefined ? undefined : `score ${s.meanScore.toFixed(3)}`,
  ];
  return parts.filter(Boolean).join(', ');
}
