// The metrics AWS services publish about themselves, emitted by the local runtime's own parts:
// AWS/Lambda per invocation, AWS/ApiGateway per API request, AWS/States per execution. The same
// names, units and dimension sets as on AWS, so the stack's alarms read them unchanged.
// Each sink keeps the series it writes to (no key building or lookup per event after the first).

import type { RestApiModel } from '../gateway/rest-api-model.ts';
import type { GatewayMetricsSink } from '../gateway/server.ts';
import type { InvocationMetricsSink, InvocationOutcome } from '../lambda/lambda-service.ts';
import type { ExecutionMetricsSink, ExecutionStatus } from '../stepfunctions/local-step-functions.ts';
import type { MetricSeries, MetricStore } from './metric-store.ts';

interface LambdaSeries {
  readonly invocations: MetricSeries;
  readonly errors: MetricSeries;
  readonly throttles: MetricSeries;
  readonly duration: MetricSeries;
}

/**
 * AWS/Lambda `Invocations`, `Errors` (0 or 1 per invocation, so its Average is the error rate),
 * `Throttles` and `Duration`, with the dimension sets Lambda uses: none (account-wide),
 * [FunctionName], [FunctionName, Resource] for a qualified invocation (Resource `name:qualifier`),
 * and [FunctionName, Resource, ExecutedVersion] for an invocation through an alias.
 */
export function lambdaMetrics(store: MetricStore, now: () => number = Date.now): InvocationMetricsSink {
  const seriesFor = (dimensions: Record<string, string>): LambdaSeries => ({
    invocations: store.series('AWS/Lambda', 'Invocations', dimensions),
    errors: store.series('AWS/Lambda', 'Errors', dimensions),
    throttles: store.series('AWS/Lambda', 'Throttles', dimensions),
    duration: store.series('AWS/Lambda', 'Duration', dimensions),
  });
  const account = seriesFor({});
  // function → qualifier ('' when unqualified) → executed version → the series to write.
  const cache = new Map<string, Map<string, Map<string, LambdaSeries[]>>>();
  const groups = (name: string, qualifier: string | undefined, version: string): LambdaSeries[] => {
    let byQualifier = cache.get(name);
    if (!byQualifier) {
      byQualifier = new Map();
      cache.set(name, byQualifier);
    }
    let byVersion = byQualifier.get(qualifier ?? '');
    if (!byVersion) {
      byVersion = new Map();
      byQualifier.set(qualifier ?? '', byVersion);
    }
    let found = byVersion.get(version);
    if (!found) {
      found = [account, seriesFor({ FunctionName: name })];
      if (qualifier !== undefined) {
        const resource = `${name}:${qualifier}`;
        found.push(seriesFor({ FunctionName: name, Resource: resource }));
        // An alias resolves to a version; a version (or $LATEST) is its own executed version.
        if (qualifier !== version)
          found.push(seriesFor({ FunctionName: name, Resource: resource, ExecutedVersion: version }));
      }
      byVersion.set(version, found);
    }
    return found;
  };
  return {
    onInvocation(
      name: string,
      qualifier: string | undefined,
      version: string,
      outcome: InvocationOutcome,
      ms: number,
    ) {
      const t = now();
      for (const s of groups(name, qualifier, version)) {
        if (outcome === 'throttle') {
          // A throttled request never ran: no invocation, no duration.
          s.throttles.add(t, 1, 1, 'Count');
          continue;
        }
        s.invocations.add(t, 1, 1, 'Count');
        s.errors.add(t, outcome === 'error' ? 1 : 0, 1, 'Count');
        s.duration.add(t, ms, 1, 'Milliseconds');
      }
    },
  };
}

interface ApiSeries {
  readonly count: MetricSeries;
  readonly latency: MetricSeries;
  readonly integrationLatency: MetricSeries;
  readonly clientErrors: MetricSeries;
  readonly serverErrors: MetricSeries;
}

/**
 * AWS/ApiGateway `Count`, `Latency` (the whole request, ms), `IntegrationLatency` (the Lambda call,
 * ms, when it was made), `4XXError` and `5XXError` (0 or 1 per request), by [ApiName] (what CDK's
 * `api.metricXxx()` reads) and by [ApiName, Stage] (what `stage.metricXxx()` reads), as API Gateway
 * publishes both.
 */
export function apiGatewayMetrics(store: MetricStore, now: () => number = Date.now): GatewayMetricsSink {
  const seriesFor = (dimensions: Record<string, string>): ApiSeries => ({
    count: store.series('AWS/ApiGateway', 'Count', dimensions),
    latency: store.series('AWS/ApiGateway', 'Latency', dimensions),
    integrationLatency: store.series('AWS/ApiGateway', 'IntegrationLatency', dimensions),
    clientErrors: store.series('AWS/ApiGateway', '4XXError', dimensions),
    serverErrors: store.series('AWS/ApiGateway', '5XXError', dimensions),
  });
  const cache = new Map<RestApiModel, ApiSeries[]>();
  return {
    onRequest(
      api: RestApiModel,
      status: number,
      latencyMs: number,
      integrationLatencyMs: number | undefined,
    ) {
      let groups = cache.get(api);
      if (!groups) {
        const apiName = api.name ?? api.logicalId;
        groups = [seriesFor({ ApiName: apiName }), seriesFor({ ApiName: apiName, Stage: api.stageName })];
        cache.set(api, groups);
      }
      const t = now();
      const clientError = status >= 400 && status < 500 ? 1 : 0;
      const serverError = status >= 500 ? 1 : 0;
      for (const s of groups) {
        s.count.add(t, 1, 1, 'Count');
        s.latency.add(t, latencyMs, 1, 'Milliseconds');
        if (integrationLatencyMs !== undefined)
          s.integrationLatency.add(t, integrationLatencyMs, 1, 'Milliseconds');
        s.clientErrors.add(t, clientError, 1, 'Count');
        s.serverErrors.add(t, serverError, 1, 'Count');
      }
    },
  };
}

const ENDED: Readonly<Record<ExecutionStatus, string | undefined>> = {
  RUNNING: undefined,
  SUCCEEDED: 'ExecutionsSucceeded',
  FAILED: 'ExecutionsFailed',
  ABORTED: 'ExecutionsAborted',
  TIMED_OUT: 'ExecutionsTimedOut',
};

/**
 * AWS/States `ExecutionsStarted`, `ExecutionsSucceeded`, `ExecutionsFailed`, `ExecutionsAborted`,
 * `ExecutionsTimedOut` (1 per execution) and `ExecutionTime` (ms), by [StateMachineArn].
 */
export function stepFunctionsMetrics(store: MetricStore, now: () => number = Date.now): ExecutionMetricsSink {
  const series = (arn: string, metric: string) =>
    store.series('AWS/States', metric, { StateMachineArn: arn });
  return {
    onExecutionStarted(stateMachineArn: string) {
      series(stateMachineArn, 'ExecutionsStarted').add(now(), 1, 1, 'Count');
    },
    onExecutionEnded(stateMachineArn: string, status: ExecutionStatus, durationMs: number) {
      const metric = ENDED[status];
      if (!metric) return;
      const t = now();
      series(stateMachineArn, metric).add(t, 1, 1, 'Count');
      series(stateMachineArn, 'ExecutionTime').add(t, durationMs, 1, 'Milliseconds');
    },
  };
}
