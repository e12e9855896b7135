// The metric store: exact dimension-set identity, per-period statistics including percentiles,
// statistic sets, per-second and per-minute aggregates, and bounded retention and memory.
import { describe, expect, it } from 'vitest';
import { MetricStore } from '../../../../local/cloudwatch/metric-store.ts';
import { parseStatistic, percentile, statisticValue } from '../../../../local/cloudwatch/statistics.ts';
import { defined } from '../defined.ts';

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const MINUTE = 60_000;
const grid = (count: number, periodMs = MINUTE) => ({ start: T0, periodMs, count });
const stat = (name: string) => defined(parseStatistic(name), name);

describe('MetricStore', () => {
  it('keys series by namespace, name and the exact dimension set, in any order', () => {
    const store = new MetricStore({ now: () => T0 });
    store.series('AWS/Lambda', 'Errors', { FunctionName: 'f', Resource: 'f:live' }).add(T0, 1);
    expect(
      store.find('AWS/Lambda', 'Errors', [
        { name: 'Resource', value: 'f:live' },
        { name: 'FunctionName', value: 'f' },
      ])?.length,
    ).toBe(1);
    // A subset of the dimensions is another metric, as in CloudWatch.
    expect(store.find('AWS/Lambda', 'Errors', { FunctionName: 'f' })).toBeUndefined();
    expect(
      store.find('AWS/Lambda', 'Invocations', { FunctionName: 'f', Resource: 'f:live' }),
    ).toBeUndefined();
  });

  it('aggregates each period: Average, Sum, Minimum, Maximum, SampleCount', () => {
    const store = new MetricStore({ now: () => T0 });
    const series = store.series('N', 'Latency');
    for (const v of [10, 20, 30]) series.add(T0 + 5_000, v);
    series.add(T0 + MINUTE + 1, 100);
    series.add(T0 - 1, 999); // before the grid
    const periods = series.periods(grid(3), false);
    const first = defined(periods[0], 'first period');
    expect(
      ['Average', 'Sum', 'Minimum', 'Maximum', 'SampleCount'].map((s) => statisticValue(first, stat(s))),
    ).toEqual([20, 60, 10, 30, 3]);
    expect(statisticValue(defined(periods[1], 'second period'), stat('Sum'))).toBe(100);
    expect(periods[2]).toBeUndefined();
  });

  it('computes p99, p50 and p99.9 by nearest rank', () => {
    const store = new MetricStore({ now: () => T0 });
    const series = store.series('N', 'Latency');
    for (let v = 1; v <= 100; v++) series.add(T0 + v, v);
    const period = defined(series.periods(grid(1), true)[0], 'period');
    expect(statisticValue(period, stat('p99'))).toBe(99);
    expect(statisticValue(period, stat('p50'))).toBe(50);
    expect(statisticValue(period, stat('p100'))).toBe(100);
    expect(statisticValue(period, stat('p99.9'))).toBe(100);
    expect(statisticValue(period, stat('p0'))).toBe(1);
  });

  it('weights values by their counts (PutMetricData Values/Counts)', () => {
    expect(percentile([5, 98, 500, 2], 99)).toBe(500);
    expect(percentile([5, 99, 500, 1], 99)).toBe(5);
  });

  it('keeps statistic sets for the basic statistics but gives no percentile over them', () => {
    const store = new MetricStore({ now: () => T0 });
    const series = store.series('N', 'Latency');
    series.addStatisticSet(T0, { sampleCount: 4, sum: 40, minimum: 1, maximum: 20 });
    series.add(T0 + 1, 60);
    const period = defined(series.periods(grid(1), true)[0], 'period');
    expect(statisticValue(period, stat('SampleCount'))).toBe(5);
    expect(statisticValue(period, stat('Average'))).toBe(20);
    expect(statisticValue(period, stat('Maximum'))).toBe(60);
    expect(statisticValue(period, stat('Minimum'))).toBe(1);
    expect(statisticValue(period, stat('p90'))).toBeNaN();
  });

  it('counts datapoints that arrive out of time order', () => {
    const store = new MetricStore({ now: () => T0 });
    const series = store.series('N', 'Count');
    series.add(T0 + 50_000, 1);
    for (let i = 0; i < 500; i++) series.add(T0 + 3 * MINUTE + i, 1); // newer periods
    series.add(T0 + 10_000, 1); // late, e.g. an explicit PutMetricData timestamp
    series.add(T0 + 3 * MINUTE + 600, 1);
    const periods = series.periods(grid(4), false);
    expect(periods.map((p) => p?.sum)).toEqual([2, undefined, undefined, 501]);
  });

  it('refuses statistics it does not compute', () => {
    for (const name of ['tm99', 'IQM', 'p101', 'PR(10:)', 'average', 'p'])
      expect(parseStatistic(name)).toBeUndefined();
  });

  it('keeps every datapoint in its minute, whatever the traffic', () => {
    // The store aggregates as datapoints arrive: no count limit drops the oldest of a busy minute.
    const store = new MetricStore({ now: () => T0 });
    const series = store.series('N', 'Count');
    for (let i = 0; i < 250_000; i++) series.add(T0 + (i % 60_000), i);
    expect(series.length).toBe(250_000);
    const period = defined(series.periods(grid(1), false)[0], 'period');
    expect(statisticValue(period, stat('SampleCount'))).toBe(250_000);
    expect(statisticValue(period, stat('Minimum'))).toBe(0);
    expect(statisticValue(period, stat('Maximum'))).toBe(249_999);
    expect(statisticValue(period, stat('Sum'))).toBe((249_999 * 250_000) / 2);
  });

  it('reads periods under a minute from per-second aggregates', () => {
    const store = new MetricStore({ now: () => T0 });
    const series = store.series('N', 'Count');
    for (let s = 0; s < 60; s++) series.add(T0 + s * 1000 + 500, s);
    const tenSeconds = series.periods(grid(6, 10_000), false);
    expect(tenSeconds.map((p) => p?.sum)).toEqual([45, 145, 245, 345, 445, 545]);
    // A grid that starts inside a minute takes the seconds it covers.
    const offset = series.periods({ start: T0 + 55_000, periodMs: 5_000, count: 2 }, false);
    expect(offset.map((p) => p?.sum)).toEqual([55 + 56 + 57 + 58 + 59, undefined]);
  });

  it('keeps per-second detail for highResolutionRetentionMs; older minutes count where they start', () => {
    let now = T0 + 10 * MINUTE;
    const store = new MetricStore({ now: () => now, highResolutionRetentionMs: 5 * MINUTE });
    const series = store.series('N', 'Count');
    for (let s = 0; s < 60; s++) series.add(T0 + s * 1000, 1); // the minute at T0, one per second
    series.add(now, 1);
    store.prune();
    // The minute at T0 is older than 5 minutes: its seconds are gone, its aggregate is not.
    expect(series.periods(grid(6, 10_000), false).map((p) => p?.sum)).toEqual([
      60,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(series.periods(grid(1), false)[0]?.sum).toBe(60);
    now += MINUTE;
    series.add(now, 1);
    expect(series.periods({ start: now - 10_000, periodMs: 10_000, count: 2 }, false)[1]?.sum).toBe(1);
  });

  it('bounds the memory of per-second detail, dropping the oldest seconds first', () => {
    const store = new MetricStore({ now: () => T0, maxHighResolutionBytesPerSeries: 64 * 1024 });
    const series = store.series('N', 'Latency');
    // 10 minutes of 300 distinct values per second: far more detail than 64 KiB holds.
    for (let s = 0; s < 600; s++)
      for (let i = 0; i < 300; i++) series.add(T0 + s * 1000 + i, 1 + ((s * 300 + i) % 997));
    expect(series.length).toBe(180_000);
    // The latest seconds keep their detail ...
    const last = series.periods({ start: T0 + 599_000, periodMs: 1000, count: 1 }, false)[0];
    expect(last?.count).toBe(300);
    // ... the first minute's seconds were dropped, and the minute is whole in its first period.
    const first = series.periods(grid(6, 10_000), false);
    expect(first[0]?.count).toBe(18_000);
    expect(first.slice(1).every((p) => p === undefined)).toBe(true);
    // Periods of a minute or more never needed the seconds.
    expect(series.periods(grid(10), false).map((p) => p?.count)).toEqual(new Array(10).fill(18_000));
  });

  it('drops datapoints past retention and refuses ones outside it', () => {
    let now = T0;
    const store = new MetricStore({ now: () => now, retentionMs: 10 * MINUTE });
    const series = store.series('N', 'Count');
    series.add(T0, 1);
    series.add(T0 + 5 * MINUTE, 2);
    now = T0 + 12 * MINUTE;
    store.prune();
    expect(series.length).toBe(1);
    expect(store.accepts(T0)).toBe(false);
    expect(store.accepts(now + 3 * 60 * MINUTE)).toBe(false);
    expect(store.accepts(now - MINUTE)).toBe(true);
    // The emptied series stays (writers hold it) but is not listed.
    now = T0 + 60 * MINUTE;
    store.prune();
    expect(store.list()).toEqual([]);
    series.add(now, 3);
    expect(store.find('N', 'Count')?.length).toBe(1);
  });
});
