// Embedded-metric lines into the store: the series a line names are found again however the
// line orders its dimensions, and the memo that finds them stays bounded.
import { describe, expect, it } from 'vitest';
import { EmfIngest } from '../../../../local/cloudwatch/emf-ingest.ts';
import { MetricStore } from '../../../../local/cloudwatch/metric-store.ts';

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const line = (dimensions: Record<string, string>, value: number) =>
  JSON.stringify({
    ...dimensions,
    _aws: {
      Timestamp: T0,
      CloudWatchMetrics: [
        {
          Namespace: 'MLOps',
          Dimensions: [Object.keys(dimensions)],
          Metrics: [{ Name: 'Latency', Unit: 'Milliseconds' }],
        },
      ],
    },
    Latency: value,
  });
const minute = { start: T0, periodMs: 60_000, count: 1 };

describe('EmfIngest', () => {
  it('writes lines naming the same dimensions in any order to one series', () => {
    const store = new MetricStore({ now: () => T0 });
    const ingest = new EmfIngest(store, () => undefined);
    ingest.ingest([line({ Model: 'm', FunctionVersion: '1' }, 2)], 'predict');
    ingest.ingest([line({ FunctionVersion: '1', Model: 'm' }, 4)], 'predict');
    const series = store.find('MLOps', 'Latency', { Model: 'm', FunctionVersion: '1' });
    expect(series?.length).toBe(2);
    expect(series?.periods(minute, false)[0]?.sum).toBe(6);
    expect(store.list()).toHaveLength(1);
  });

  it('keeps recording correctly once made-up dimension values have filled its memo', () => {
    const store = new MetricStore({ now: () => T0 });
    const ingest = new EmfIngest(store, () => undefined);
    for (let i = 0; i < 12_000; i++) ingest.ingest([line({ RequestId: `r-${i}` }, i)], 'predict');
    ingest.ingest([line({ RequestId: 'r-5' }, 1)], 'predict');
    expect(store.list()).toHaveLength(12_000);
    expect(store.find('MLOps', 'Latency', { RequestId: 'r-5' })?.periods(minute, false)[0]?.sum).toBe(6);
  });
});
