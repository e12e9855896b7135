import { describe, expect, it } from 'vitest';
import { emfLine, writeEmf } from '../../../../../functions/lib/metrics/emf.ts';

describe('emfLine', () => {
  it('declares every metric under its namespace and dimension sets, with the values at the top level', () => {
    const line = JSON.parse(
      emfLine({
        namespace: 'MLOps',
        dimensions: { Model: 'm', Feature: 'distance' },
        dimensionSets: [['Model', 'Feature'], []],
        metrics: [{ name: 'FeaturePSI', value: 0.3 }],
        timestamp: new Date(1_700_000_000_000),
      }),
    );
    expect(line).toEqual({
      Model: 'm',
      Feature: 'distance',
      FeaturePSI: 0.3,
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: 'MLOps',
            Dimensions: [['Model', 'Feature'], []],
            Metrics: [{ Name: 'FeaturePSI', Unit: 'None' }],
          },
        ],
      },
    });
  });

  it('leaves out non-finite values, which CloudWatch would reject', () => {
    const line = JSON.parse(
      emfLine({
        namespace: 'N',
        dimensions: {},
        metrics: [
          { name: 'A', value: Number.NaN },
          { name: 'B', value: 1 },
        ],
      }),
    );
    expect(line.A).toBeUndefined();
    expect(line._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: 'B', Unit: 'None' }]);
  });

  it('fails on a dimension set naming a dimension without a value', () => {
    expect(() =>
      emfLine({
        namespace: 'N',
        dimensions: {},
        dimensionSets: [['Model']],
        metrics: [{ name: 'A', value: 1 }],
      }),
    ).toThrow(/Model/);
  });

  it('writes one line per entry in one write', () => {
    const writes: string[] = [];
    writeEmf(
      [
        { namespace: 'N', dimensions: {}, metrics: [{ name: 'A', value: 1 }] },
        { namespace: 'N', dimensions: {}, metrics: [{ name: 'B', value: 2 }] },
      ],
      (text) => writes.push(text),
    );
    expect(writes).toHaveLength(1);
    expect(writes[0]?.trimEnd().split('\n')).toHaveLength(2);
  });
});
