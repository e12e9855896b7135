// The aggregate the metric store keeps per second and per minute: basic statistics exact, and
// percentiles exact over few values and within RELATIVE_ACCURACY (1%) of the exact nearest-rank
// percentile over many, merged or not.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../functions/lib/random.ts';
import {
  EXACT_VALUES_LIMIT,
  MetricAggregate,
  RELATIVE_ACCURACY,
} from '../../../../local/cloudwatch/metric-aggregate.ts';
import { percentile } from '../../../../local/cloudwatch/statistics.ts';

const PERCENTILES = [0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

/** Values with weights, the way tests draw them. */
interface Sample {
  readonly values: number[];
  readonly weights: number[];
}

function draw(n: number, next: () => number, weighted = false, seed = 7): Sample {
  const random = seededRandom(seed);
  const values: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    values.push(next());
    weights.push(weighted ? 1 + Math.floor(random() * 5) : 1);
  }
  return { values, weights };
}

function exact(sample: Sample, p: number): number {
  return percentile(
    sample.values.flatMap((v, i) => [v, sample.weights[i] as number]),
    p,
  );
}

function aggregateOf(sample: Sample): MetricAggregate {
  const aggregate = new MetricAggregate();
  for (const [i, v] of sample.values.entries()) aggregate.add(v, sample.weights[i]);
  return aggregate;
}

/** Within the stated relative error of the exact percentile (zero exactly). */
function expectClose(approximate: number, truth: number, what: string): void {
  expect(Math.abs(approximate - truth), what).toBeLessThanOrEqual(
    RELATIVE_ACCURACY * Math.abs(truth) + 1e-12,
  );
}

const random = seededRandom(2026);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const DISTRIBUTIONS: Record<string, () => number> = {
  'uniform latencies (0.1–100 ms)': () => 0.1 + random() * 99.9,
  'log-normal latencies': () => Math.exp(1 + 0.8 * gaussian()),
  'a fast mode with a slow tail': () => (random() < 0.97 ? 2 + random() : 200 + random() * 800),
  'few distinct counts (0–5)': () => Math.floor(random() * 6),
  'scores in [0, 1]': () => random(),
  'signed values around zero': () => (random() < 0.1 ? 0 : gaussian() * 50),
  'tiny and huge magnitudes': () => 10 ** (-9 + random() * 18),
};

describe('MetricAggregate', () => {
  it('keeps count, sum, minimum and maximum exactly', () => {
    const aggregate = new MetricAggregate();
    for (const [value, weight] of [
      [5, 1],
      [-2, 3],
      [10, 2],
    ] as const)
      aggregate.add(value, weight);
    expect([aggregate.count, aggregate.sum, aggregate.min, aggregate.max, aggregate.datapoints]).toEqual([
      6, 19, -2, 10, 3,
    ]);
  });

  it(`gives exact nearest-rank percentiles while it holds at most ${EXACT_VALUES_LIMIT} values`, () => {
    const sample = draw(EXACT_VALUES_LIMIT, () => Math.round(random() * 1e6) / 100, true);
    const aggregate = aggregateOf(sample);
    for (const p of PERCENTILES) expect(aggregate.percentile(p), `p${p}`).toBe(exact(sample, p));
  });

  for (const [name, next] of Object.entries(DISTRIBUTIONS))
    it(`stays within ${RELATIVE_ACCURACY * 100}% of the exact percentiles over many values: ${name}`, () => {
      for (const weighted of [false, true]) {
        const sample = draw(50_000, next, weighted);
        const aggregate = aggregateOf(sample);
        for (const p of PERCENTILES)
          expectClose(aggregate.percentile(p), exact(sample, p), `p${p}${weighted ? ' weighted' : ''}`);
        // p0 and p100 are the exact minimum and maximum.
        expect(aggregate.percentile(0)).toBe(Math.min(...sample.values));
        expect(aggregate.percentile(100)).toBe(Math.max(...sample.values));
      }
    });

  it('merges buckets into the same answer as one aggregate of all their values', () => {
    const sample = draw(60_000, DISTRIBUTIONS['log-normal latencies'] as () => number, true);
    // Sixty seconds of a minute: some buckets stay exact, the busy ones become histograms.
    const seconds = Array.from({ length: 60 }, () => new MetricAggregate());
    sample.values.forEach((v, i) => {
      const second = i < 600 ? i % 60 : 30 + (i % 30);
      (seconds[second] as MetricAggregate).add(v, sample.weights[i]);
    });
    const before = seconds.map((second) => [second.count, second.percentile(50)]);
    const minute = new MetricAggregate();
    for (const second of seconds) minute.merge(second);
    const whole = aggregateOf(sample);
    expect([minute.count, minute.min, minute.max, minute.datapoints]).toEqual([
      whole.count,
      whole.min,
      whole.max,
      60_000,
    ]);
    expect(minute.sum).toBeCloseTo(whole.sum, 6);
    for (const p of PERCENTILES) expectClose(minute.percentile(p), exact(sample, p), `p${p}`);
    // Merging leaves what was merged as it was.
    expect(seconds.map((second) => [second.count, second.percentile(50)])).toEqual(before);
  });

  it('merges without distributions for the basic statistics only', () => {
    const a = aggregateOf(draw(1000, () => random() * 10));
    const merged = new MetricAggregate();
    merged.merge(a, false);
    expect([merged.count, merged.sum, merged.min, merged.max]).toEqual([a.count, a.sum, a.min, a.max]);
    expect(merged.percentile(50)).toBeNaN();
  });

  it('answers no percentile over a statistic set, whose values are unknown', () => {
    const aggregate = new MetricAggregate();
    aggregate.add(3);
    aggregate.addStatisticSet({ sampleCount: 4, sum: 40, minimum: 1, maximum: 20 });
    expect([aggregate.count, aggregate.sum, aggregate.min, aggregate.max]).toEqual([5, 43, 1, 20]);
    expect(aggregate.percentile(50)).toBeNaN();
    expect(new MetricAggregate().percentile(50)).toBeNaN();
  });

  it('bounds its memory by the range of the values, not their number', () => {
    const aggregate = new MetricAggregate();
    for (let i = 0; i < 1_000_000; i++) aggregate.add(1 + (i % 9_973));
    // 1 … 10⁴ spans ln(10⁴) / ln(1.0202) ≈ 461 bins, plus growth slack.
    expect(aggregate.cells).toBeLessThan(600);
    expectClose(aggregate.percentile(99), 9_873, 'p99');
  });

  it('keeps the upper percentiles accurate when values span more orders of magnitude than its bins', () => {
    // 10⁻³⁰⁰ … 10²⁹⁹: the bins keep the upper 35 orders of magnitude, the rest share the lowest.
    const values = Array.from({ length: 6_000 }, (_, i) => 10 ** (-300 + (i % 600)));
    const aggregate = new MetricAggregate();
    for (const v of values) aggregate.add(v);
    const sample = { values, weights: values.map(() => 1) };
    for (const p of [95, 99, 99.9, 100]) expectClose(aggregate.percentile(p), exact(sample, p), `p${p}`);
    expect(aggregate.percentile(0)).toBe(10 ** -300);
    expect(aggregate.cells).toBeLessThanOrEqual(4096);
  });
});
