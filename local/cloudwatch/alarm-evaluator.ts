// One evaluation of one metric alarm, as CloudWatch does it: the alarm's queries aggregated per
// Period, the last EvaluationPeriods (N) datapoints compared with the Threshold, ALARM when at least
// DatapointsToAlarm (M) of them breach, missing datapoints handled per TreatMissingData.
// Pure: the store, the time and the current state come in, the state and reason go out.
//
// Locally the current, still-open period is part of the evaluation (CloudWatch waits for a period
// to close): local traffic is short-lived, and a demo should see an alarm fire while it runs.
import type { AlarmDefinition, ComparisonOperator } from './alarm-definitions.ts';
import { evaluateQueries } from './metric-query.ts';
import { type MetricStore, periodStart } from './metric-store.ts';
import { significantSampleCount } from './statistics.ts';

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmEvaluation {
  /** The state the alarm is to be in; undefined keeps the current one (TreatMissingData `ignore`). */
  readonly state: AlarmStateValue | undefined;
  /** CloudWatch's StateReason wording. */
  readonly reason: string;
  /** CloudWatch's StateReasonData (JSON). */
  readonly reasonData: Readonly<Record<string, unknown>>;
}

interface Datapoint {
  /** Period start, epoch ms. */
  readonly timestamp: number;
  /** NaN: no datapoint. */
  readonly value: number;
  readonly sampleCount?: number;
}

const COMPARE: Readonly<Record<ComparisonOperator, (value: number, threshold: number) => boolean>> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

const WORDING: Readonly<Record<ComparisonOperator, string>> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** True when `value` breaches the alarm's threshold. */
export function breaches(alarm: AlarmDefinition, value: number): boolean {
  return COMPARE[alarm.comparisonOperator](value, alarm.threshold);
}

/**
 * Evaluate `alarm` at `now` (epoch ms). With `missing` and `ignore`, the evaluation range reaches
 * back 2·N periods for the N most recent datapoints, as CloudWatch's evaluation range reaches past
 * EvaluationPeriods, so an alarm does not fall to INSUFFICIENT_DATA the moment a period is empty.
 */
export function evaluateAlarm(
  alarm: AlarmDefinition,
  store: MetricStore,
  now: number,
  current: AlarmStateValue,
): AlarmEvaluation {
  const n = alarm.evaluationPeriods;
  const m = alarm.datapointsToAlarm;
  const periodMs = alarm.periodSeconds * 1000;
  const fills = alarm.treatMissingData === 'breaching' || alarm.treatMissingData === 'notBreaching';
  const range = fills ? n : 2 * n;
  const grid = { start: periodStart(now, periodMs) - (range - 1) * periodMs, periodMs, count: range };
  const result = evaluateQueries(store, alarm.queries, grid).get(alarm.returnId);
  const newestFirst: Datapoint[] = [];
  for (let i = range - 1; i >= 0; i--)
    newestFirst.push({
      timestamp: grid.start + i * periodMs,
      value: result?.values[i] ?? Number.NaN,
      ...(result?.sampleCounts ? { sampleCount: result.sampleCounts[i] as number } : {}),
    });
  const present = (d: Datapoint) => !Number.isNaN(d.value);
  const context = { alarm, now, current };

  if (fills) {
    const window = newestFirst;
    const missingBreach = alarm.treatMissingData === 'breaching';
    const breaching = window.filter((d) => (present(d) ? breaches(alarm, d.value) : missingBreach)).length;
    return thresholdOutcome(context, breaching >= m ? 'ALARM' : 'OK', window, breaching);
  }

  const window = newestFirst.filter(present).slice(0, n);
  if (window.length === 0) {
    if (alarm.treatMissingData === 'ignore')
      return keep(
        context,
        `no datapoints in the last ${range} periods; missing data is ignored`,
        newestFirst,
      );
    return {
      state: 'INSUFFICIENT_DATA',
      reason: `Insufficient Data: ${plural(range, 'datapoint')} ${range === 1 ? 'was' : 'were'} unknown.`,
      reasonData: reasonData(context, newestFirst),
    };
  }
  const lowSamples = lowSampleCount(alarm, window);
  if (lowSamples) return keep(context, lowSamples, window);
  const breaching = window.filter((d) => breaches(alarm, d.value)).length;
  if (alarm.treatMissingData === 'missing')
    // With fewer datapoints than M, the ones there are decide: all of them breaching is ALARM.
    return thresholdOutcome(
      context,
      breaching >= Math.min(m, window.length) ? 'ALARM' : 'OK',
      window,
      breaching,
    );
  if (breaching >= m) return thresholdOutcome(context, 'ALARM', window, breaching);
  if (window.length - breaching > n - m) return thresholdOutcome(context, 'OK', window, breaching);
  return keep(
    context,
    `${plural(window.length, 'datapoint')} of ${n} present, not enough to decide; missing data is ignored`,
    window,
  );
}

interface Context {
  readonly alarm: AlarmDefinition;
  readonly now: number;
  readonly current: AlarmStateValue;
}

function thresholdOutcome(
  { alarm, now, current }: Context,
  state: 'OK' | 'ALARM',
  window: readonly Datapoint[],
  breaching: number,
): AlarmEvaluation {
  const shown = window.filter((d) => !Number.isNaN(d.value));
  const missing = window.length - shown.length;
  const treatedAs = alarm.treatMissingData === 'breaching' ? 'Breaching' : 'NonBreaching';
  const minimum =
    state === 'ALARM' ? alarm.datapointsToAlarm : alarm.evaluationPeriods - alarm.datapointsToAlarm + 1;
  const transition = `(minimum ${plural(minimum, 'datapoint')} for ${current} -> ${state} transition)`;
  let reason: string;
  if (shown.length === 0) {
    reason =
      `Threshold Crossed: no datapoints were received for ${plural(missing, 'period')} and ` +
      `${plural(missing, 'missing datapoint')} ${missing === 1 ? 'was' : 'were'} treated as [${treatedAs}].`;
  } else {
    const counted = state === 'ALARM' ? breaching : window.length - breaching;
    const list = shown.map((d) => `${formatNumber(d.value)} (${formatShortDate(d.timestamp)})`).join(', ');
    reason =
      `Threshold Crossed: ${counted} out of the last ${plural(window.length, 'datapoint')} [${list}] ` +
      `${counted === 1 ? 'was' : 'were'} ${state === 'OK' ? 'not ' : ''}${WORDING[alarm.comparisonOperator]} ` +
      `the threshold (${formatNumber(alarm.threshold)}) ${transition}.`;
    if (missing > 0) reason += ` ${plural(missing, 'missing datapoint')} treated as [${treatedAs}].`;
  }
  return { state, reason, reasonData: reasonData({ alarm, now, current }, window) };
}

function keep({ alarm, now, current }: Context, why: string, window: readonly Datapoint[]): AlarmEvaluation {
  return {
    state: undefined,
    reason: `Unchanged: ${why}.`,
    reasonData: reasonData({ alarm, now, current }, window),
  };
}

/** For EvaluateLowSampleCountPercentile `ignore`: why the state stays, or undefined. */
function lowSampleCount(alarm: AlarmDefinition, window: readonly Datapoint[]): string | undefined {
  if (alarm.evaluateLowSampleCountPercentile !== 'ignore') return undefined;
  const query = alarm.queries.find((q) => q.id === alarm.returnId);
  if (query?.kind !== 'metric' || query.statistic.kind !== 'percentile') return undefined;
  const needed = significantSampleCount(query.statistic.percentile);
  const low = window.find((d) => (d.sampleCount ?? 0) < needed);
  return low
    ? `${formatShortDate(low.timestamp)} has ${plural(low.sampleCount ?? 0, 'sample')}, fewer than the ${Math.ceil(needed)} ` +
        `${query.statistic.name} needs; low sample counts are ignored`
    : undefined;
}

function reasonData({ alarm, now }: Context, window: readonly Datapoint[]): Record<string, unknown> {
  const query = alarm.queries.find((q) => q.id === alarm.returnId);
  const present = window.filter((d) => !Number.isNaN(d.value));
  const oldest = window.at(-1);
  return {
    version: '1.0',
    queryDate: formatIsoDate(now),
    ...(oldest ? { startDate: formatIsoDate(oldest.timestamp) } : {}),
    ...(query?.kind === 'metric' ? { statistic: query.statistic.name } : {}),
    period: alarm.periodSeconds,
    recentDatapoints: present.map((d) => d.value).reverse(),
    threshold: alarm.threshold,
    evaluatedDatapoints: window.map((d) => ({
      timestamp: formatIsoDate(d.timestamp),
      ...(d.sampleCount !== undefined && d.sampleCount > 0 ? { sampleCount: d.sampleCount } : {}),
      ...(Number.isNaN(d.value) ? {} : { value: d.value }),
    })),
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Numbers as CloudWatch prints them in reasons: `1.0`, `0.25`. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** `dd/MM/yy HH:mm:ss` in UTC, as in CloudWatch's reasons. */
function formatShortDate(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`
  );
}

/** `2024-05-22T10:05:00.000+0000`, CloudWatch's timestamp format in alarm messages. */
export function formatIsoDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', '+0000');
}
