// Embedded metric format lines as CloudWatch Logs reads them: what the functions' writer emits
// parses back to the same datapoints, and lines CloudWatch would reject give reasons, not metrics.
import { describe, expect, it } from 'vitest';
import { emfLine } from '../../../../functions/lib/metrics/emf.ts';
import { parseEmfLine } from '../../../../local/cloudwatch/emf.ts';

const at = new Date('2026-11-02T10:00:00.000Z');

describe('parseEmfLine', () => {
  it('reads every dimension set of a line the functions write', () => {
    const line = emfLine({
      namespace: 'MLOps',
      dimensions: { Model: 'flight-delay', FunctionVersion: '3' },
      dimensionSets: [['Model'], ['Model', 'FunctionVersion'], []],
      metrics: [
        { name: 'PredictionLatency', value: 12.5, unit: 'Milliseconds' },
        { name: 'Predictions', value: 4, unit: 'Count' },
      ],
      timestamp: at,
      properties: { requestId: 'r-1' },
    });
    const { datapoints, problems } = parseEmfLine(line);
    expect(problems).toEqual([]);
    expect(datapoints).toHaveLength(6);
    expect(datapoints.filter((d) => d.metricName === 'PredictionLatency')).toEqual([
      {
        namespace: 'MLOps',
        metricName: 'PredictionLatency',
        dimensions: { Model: 'flight-delay' },
        values: [12.5],
        unit: 'Milliseconds',
        timestamp: at.getTime(),
      },
      {
        namespace: 'MLOps',
        metricName: 'PredictionLatency',
        dimensions: { Model: 'flight-delay', FunctionVersion: '3' },
        values: [12.5],
        unit: 'Milliseconds',
        timestamp: at.getTime(),
      },
      {
        namespace: 'MLOps',
        metricName: 'PredictionLatency',
        dimensions: {},
        values: [12.5],
        unit: 'Milliseconds',
        timestamp: at.getTime(),
      },
    ]);
  });

  it('reads an array of values and several directives', () => {
    const line = JSON.stringify({
      Service: 'drift',
      Feature: 'distance',
      FeaturePSI: [0.1, 0.3, 0.02],
      Rows: 1000,
      _aws: {
        Timestamp: at.getTime(),
        CloudWatchMetrics: [
          { Namespace: 'A', Dimensions: [['Feature']], Metrics: [{ Name: 'FeaturePSI' }] },
          { Namespace: 'B', Dimensions: [['Service']], Metrics: [{ Name: 'Rows', Unit: 'Count' }] },
        ],
      },
    });
    const { datapoints, problems } = parseEmfLine(line);
    expect(problems).toEqual([]);
    expect(datapoints.map((d) => [d.namespace, d.metricName, d.dimensions, d.values])).toEqual([
      ['A', 'FeaturePSI', { Feature: 'distance' }, [0.1, 0.3, 0.02]],
      ['B', 'Rows', { Service: 'drift' }, [1000]],
    ]);
  });

  it('gives a reason and no datapoint for lines CloudWatch rejects', () => {
    const base = { _aws: { Timestamp: at.getTime(), CloudWatchMetrics: [] as unknown[] } };
    const cases: Array<[string, RegExp]> = [
      ['INFO plain text', /not a JSON object/],
      ['{"broken": ', /not JSON/],
      [JSON.stringify({ a: 1 }), /no _aws/],
      [JSON.stringify({ _aws: { Timestamp: 'now', CloudWatchMetrics: [] } }), /Timestamp/],
      [
        JSON.stringify({
          ...base,
          Latency: 3,
          _aws: {
            Timestamp: at.getTime(),
            CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['Model']], Metrics: [{ Name: 'Latency' }] }],
          },
        }),
        /dimension Model needs a non-empty string value/,
      ],
      [
        JSON.stringify({
          Latency: 'fast',
          _aws: {
            Timestamp: at.getTime(),
            CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [], Metrics: [{ Name: 'Latency' }] }],
          },
        }),
        /must be a number or an array of numbers/,
      ],
      [
        JSON.stringify({
          Latency: Array.from({ length: 101 }, (_, i) => i),
          _aws: {
            Timestamp: at.getTime(),
            CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [], Metrics: [{ Name: 'Latency' }] }],
          },
        }),
        /101 values; EMF allows 100/,
      ],
    ];
    for (const [line, reason] of cases) {
      const reading = parseEmfLine(line);
      expect(reading.datapoints, line).toEqual([]);
      expect(reading.problems.join('; '), line).toMatch(reason);
    }
  });

  it('keeps the valid metrics of a directive when one metric has no value', () => {
    const { datapoints, problems } = parseEmfLine(
      JSON.stringify({
        Good: 1,
        _aws: {
          Timestamp: at.getTime(),
          CloudWatchMetrics: [
            { Namespace: 'N', Dimensions: [[]], Metrics: [{ Name: 'Good' }, { Name: 'Absent' }] },
          ],
        },
      }),
    );
    expect(datapoints.map((d) => d.metricName)).toEqual(['Good']);
    expect(problems).toEqual(['CloudWatchMetrics[0]: metric Absent: no value at the root of the line']);
  });
});
