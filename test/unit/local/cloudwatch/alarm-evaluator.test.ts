// Alarm evaluation as CloudWatch does it: M of N datapoints, every TreatMissingData mode, metric
// math alarms, percentile alarms, and the StateReason wording.
import { describe, expect, it } from 'vitest';
import { alarmFromProperties } from '../../../../local/cloudwatch/alarm-definitions.ts';
import { evaluateAlarm } from '../../../../local/cloudwatch/alarm-evaluator.ts';
import { MetricStore } from '../../../../local/cloudwatch/metric-store.ts';

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const MINUTE = 60_000;
/** Inside the period `k` minutes after T0 (the current, still open period when evaluating). */
const at = (k: number) => T0 + k * MINUTE + 30_000;

const errorsAlarm = (overrides: Record<string, unknown> = {}) =>
  alarmFromProperties(
    'ErrorsAlarm',
    {
      AlarmName: 'errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: 'predict' }],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      ...overrides,
    },
    'Stack-ErrorsAlarm',
  );

/** A store with the given Errors sums per minute (undefined: no datapoint that minute). */
function errorsStore(perMinute: ReadonlyArray<number | undefined>): MetricStore {
  const store = new MetricStore({ now: () => at(perMinute.length - 1) });
  const series = store.series('AWS/Lambda', 'Errors', { FunctionName: 'predict' });
  perMinute.forEach((value, k) => {
    if (value !== undefined) series.add(T0 + k * MINUTE + 1000, value);
  });
  return store;
}

const stateOf = (overrides: Record<string, unknown>, perMinute: ReadonlyArray<number | undefined>) =>
  evaluateAlarm(errorsAlarm(overrides), errorsStore(perMinute), at(perMinute.length - 1), 'OK').state;

describe('evaluateAlarm', () => {
  it('alarms when M of the last N datapoints breach, counting the open period', () => {
    const twoOfThree = { DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' };
    expect(stateOf(twoOfThree, [5, 0, 2])).toBe('ALARM');
    expect(stateOf(twoOfThree, [0, 0, 2])).toBe('OK');
    expect(stateOf(twoOfThree, [3, 3, 0, 0])).toBe('OK'); // the breaches left the window
    expect(stateOf({ ...twoOfThree, DatapointsToAlarm: 3 }, [5, 5, 0])).toBe('OK');
  });

  it('words the reason as CloudWatch does', () => {
    const alarm = errorsAlarm({ DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' });
    const evaluation = evaluateAlarm(alarm, errorsStore([5, 0, 2]), at(2), 'OK');
    expect(evaluation.reason).toBe(
      'Threshold Crossed: 2 out of the last 3 datapoints [2.0 (02/11/26 10:02:00), 0.0 (02/11/26 10:01:00), ' +
        '5.0 (02/11/26 10:00:00)] were greater than or equal to the threshold (1.0) ' +
        '(minimum 2 datapoints for OK -> ALARM transition).',
    );
    expect(evaluation.reasonData).toMatchObject({
      version: '1.0',
      statistic: 'Sum',
      period: 60,
      threshold: 1,
      recentDatapoints: [5, 0, 2],
      startDate: '2026-11-02T10:00:00.000+0000',
    });
    const ok = evaluateAlarm(alarm, errorsStore([0, 0, 0]), at(2), 'ALARM');
    expect(ok.state).toBe('OK');
    expect(ok.reason).toMatch(
      /^Threshold Crossed: 3 out of the last 3 datapoints .* were not greater than or equal to the threshold \(1\.0\) \(minimum 2 datapoints for ALARM -> OK transition\)\.$/,
    );
  });

  describe('TreatMissingData', () => {
    it('missing: no datapoint at all is INSUFFICIENT_DATA; the datapoints there are decide', () => {
      const missing = { TreatMissingData: 'missing' };
      const none = evaluateAlarm(
        errorsAlarm(missing),
        errorsStore([undefined, undefined, undefined]),
        at(2),
        'OK',
      );
      expect(none.state).toBe('INSUFFICIENT_DATA');
      expect(none.reason).toBe('Insufficient Data: 6 datapoints were unknown.');
      expect(stateOf(missing, [undefined, undefined, 4])).toBe('ALARM');
      expect(stateOf(missing, [undefined, undefined, 0])).toBe('OK');
      expect(stateOf(missing, [undefined, 2, 0])).toBe('OK');
      expect(stateOf(missing, [2, 2, 2])).toBe('ALARM');
    });

    it('missing: looks back past N periods for datapoints (the evaluation range)', () => {
      const missing = { TreatMissingData: 'missing', EvaluationPeriods: 1, DatapointsToAlarm: 1 };
      expect(stateOf(missing, [5, undefined])).toBe('ALARM');
      expect(stateOf(missing, [5, undefined, undefined])).toBe('INSUFFICIENT_DATA');
    });

    it('ignore: keeps the state while the datapoints there cannot decide', () => {
      const ignore = { TreatMissingData: 'ignore' };
      expect(stateOf(ignore, [undefined, undefined, undefined])).toBeUndefined();
      expect(stateOf(ignore, [undefined, undefined, 4])).toBeUndefined();
      expect(stateOf(ignore, [undefined, undefined, 0])).toBe('OK');
      expect(stateOf(ignore, [3, 3, 3])).toBe('ALARM');
    });

    it('breaching: missing datapoints count as breaching', () => {
      const breaching = { TreatMissingData: 'breaching' };
      const none = evaluateAlarm(
        errorsAlarm(breaching),
        errorsStore([undefined, undefined, undefined]),
        at(2),
        'OK',
      );
      expect(none.state).toBe('ALARM');
      expect(none.reason).toBe(
        'Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching].',
      );
      expect(stateOf(breaching, [undefined, 5, undefined])).toBe('ALARM');
      expect(stateOf(breaching, [undefined, 0, undefined])).toBe('OK');
    });

    it('notBreaching: missing datapoints count as fine', () => {
      const notBreaching = { TreatMissingData: 'notBreaching' };
      expect(stateOf(notBreaching, [undefined, undefined, undefined])).toBe('OK');
      expect(stateOf(notBreaching, [5, undefined, 5])).toBe('OK');
      expect(stateOf(notBreaching, [5, 5, 5])).toBe('ALARM');
    });
  });

  it('evaluates a metric math alarm on the 5xx rate', () => {
    const alarm = alarmFromProperties(
      'ServerErrorRate',
      {
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        Threshold: 5,
        TreatMissingData: 'notBreaching',
        Metrics: [
          {
            Id: 'errors',
            ReturnData: false,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/ApiGateway',
                MetricName: '5XXError',
                Dimensions: [
                  { Name: 'ApiName', Value: 'api' },
                  { Name: 'Stage', Value: 'prod' },
                ],
              },
              Period: 60,
              Stat: 'Sum',
            },
          },
          {
            Id: 'requests',
            ReturnData: false,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/ApiGateway',
                MetricName: 'Count',
                Dimensions: [
                  { Name: 'ApiName', Value: 'api' },
                  { Name: 'Stage', Value: 'prod' },
                ],
              },
              Period: 60,
              Stat: 'SampleCount',
            },
          },
          { Id: 'rate', Expression: 'IF(requests > 0, 100 * errors / requests, 0)', Label: '5xx %' },
        ],
      },
      'Stack-ServerErrorRate',
    );
    const store = new MetricStore({ now: () => at(0) });
    const dims = { ApiName: 'api', Stage: 'prod' };
    const errors = store.series('AWS/ApiGateway', '5XXError', dims);
    const count = store.series('AWS/ApiGateway', 'Count', dims);
    for (let i = 0; i < 100; i++) {
      count.add(T0 + i, 1);
      errors.add(T0 + i, i < 4 ? 1 : 0);
    }
    expect(evaluateAlarm(alarm, store, at(0), 'INSUFFICIENT_DATA').state).toBe('OK');
    for (let i = 0; i < 10; i++) {
      count.add(T0 + 200 + i, 1);
      errors.add(T0 + 200 + i, 1);
    }
    const evaluation = evaluateAlarm(alarm, store, at(0), 'OK');
    expect(evaluation.state).toBe('ALARM');
    expect(evaluation.reason).toContain(
      '[12.727272727272727 (02/11/26 10:00:00)] was greater than the threshold (5.0)',
    );
    expect(evaluation.reasonData).not.toHaveProperty('statistic');
  });

  it('evaluates a p99 latency alarm', () => {
    const alarm = errorsAlarm({
      MetricName: 'Latency',
      Namespace: 'AWS/ApiGateway',
      Dimensions: [
        { Name: 'ApiName', Value: 'api' },
        { Name: 'Stage', Value: 'prod' },
      ],
      Statistic: undefined,
      ExtendedStatistic: 'p99',
      Threshold: 150,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
    });
    const store = new MetricStore({ now: () => at(0) });
    const latency = store.series('AWS/ApiGateway', 'Latency', { ApiName: 'api', Stage: 'prod' });
    for (let ms = 1; ms <= 100; ms++) latency.add(T0 + ms, ms);
    expect(evaluateAlarm(alarm, store, at(0), 'OK').state).toBe('OK');
    for (let i = 0; i < 5; i++) latency.add(T0 + 500 + i, 400);
    const evaluation = evaluateAlarm(alarm, store, at(0), 'OK');
    expect(evaluation.state).toBe('ALARM');
    expect(evaluation.reasonData).toMatchObject({ statistic: 'p99', recentDatapoints: [400] });
  });

  it('keeps the state on a low sample count when EvaluateLowSampleCountPercentile is ignore', () => {
    const p90 = {
      Statistic: undefined,
      ExtendedStatistic: 'p90',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
    };
    const few = errorsStore([7]);
    const ignoring = evaluateAlarm(
      errorsAlarm({ ...p90, EvaluateLowSampleCountPercentile: 'ignore' }),
      few,
      at(0),
      'OK',
    );
    expect(ignoring.state).toBeUndefined();
    expect(ignoring.reason).toMatch(/has 1 sample, fewer than the 100 p90 needs/);
    expect(
      evaluateAlarm(errorsAlarm({ ...p90, EvaluateLowSampleCountPercentile: 'evaluate' }), few, at(0), 'OK')
        .state,
    ).toBe('ALARM');
  });
});
