// The AWS service metrics the local runtime emits itself: names, units and dimension sets as
// AWS/ApiGateway and AWS/States publish them.
import { describe, expect, it } from 'vitest';
import { MetricStore } from '../../../../local/cloudwatch/metric-store.ts';
import { apiGatewayMetrics, stepFunctionsMetrics } from '../../../../local/cloudwatch/service-metrics.ts';
import type { RestApiModel } from '../../../../local/gateway/rest-api-model.ts';

const T = Date.UTC(2026, 10, 2, 10, 0, 0);
const sums = (store: MetricStore, namespace: string, dimensions: Record<string, string>) =>
  Object.fromEntries(
    store
      .list({ namespace })
      .filter(
        (s) =>
          JSON.stringify(s.dimensions) ===
          JSON.stringify(Object.entries(dimensions).map(([name, value]) => ({ name, value }))),
      )
      .map((s) => [s.metricName, s.periods({ start: T, periodMs: 60_000, count: 1 }, false)[0]?.sum]),
  );

describe('service metrics', () => {
  it('counts API requests by ApiName, and by ApiName and Stage, with 4XX/5XX as 0 or 1 per request', () => {
    const store = new MetricStore({ now: () => T });
    const sink = apiGatewayMetrics(store, () => T);
    const api = { logicalId: 'PredictApi1234', name: 'PredictApi', stageName: 'prod' } as RestApiModel;
    sink.onRequest(api, 200, 12, 10);
    sink.onRequest(api, 403, 1, undefined);
    sink.onRequest(api, 502, 30, 29);
    expect(sums(store, 'AWS/ApiGateway', { ApiName: 'PredictApi', Stage: 'prod' })).toEqual({
      Count: 3,
      Latency: 43,
      IntegrationLatency: 39,
      '4XXError': 1,
      '5XXError': 1,
    });
    expect(sums(store, 'AWS/ApiGateway', { ApiName: 'PredictApi' })).toMatchObject({
      Count: 3,
      '5XXError': 1,
    });
    expect(store.find('AWS/ApiGateway', '4XXError', { ApiName: 'PredictApi', Stage: 'prod' })?.unit).toBe(
      'Count',
    );
    expect(store.find('AWS/ApiGateway', 'Latency', { ApiName: 'PredictApi', Stage: 'prod' })?.unit).toBe(
      'Milliseconds',
    );
  });

  it('counts executions by StateMachineArn and how they ended', () => {
    const store = new MetricStore({ now: () => T });
    const sink = stepFunctionsMetrics(store, () => T);
    const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:Scoring';
    sink.onExecutionStarted(arn);
    sink.onExecutionStarted(arn);
    sink.onExecutionEnded(arn, 'FAILED', 1500);
    sink.onExecutionEnded(arn, 'SUCCEEDED', 500);
    expect(sums(store, 'AWS/States', { StateMachineArn: arn })).toEqual({
      ExecutionsStarted: 2,
      ExecutionsFailed: 1,
      ExecutionsSucceeded: 1,
      ExecutionTime: 2000,
    });
  });
});
