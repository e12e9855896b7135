// The predict function's HTTP adapter: API Gateway event in, proxy response out. Parsing and
// error mapping live here so `core.ts` stays plain and the handler stays one line. After the
// answer is shaped, the request is captured and its metrics written: both only log lines, and
// neither can fail or hold up the prediction. During a shadow release a copy of the request then
// goes to the challenger (./shadow.ts), under the same rule.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { CapturedRequest, CaptureOutcome } from '../lib/capture/capture-sink.ts';
import { errorResponse, jsonResponse } from '../lib/http/respond.ts';
import type { EmfEntry, MetricValue } from '../lib/metrics/emf.ts';
import { DIMENSION, METRICS_NAMESPACE, PREDICTION_METRICS } from '../lib/metrics/metric-names.ts';
import { ModelName } from '../lib/schemas/model-name.ts';
import { parsePredictRequest } from '../lib/schemas/predict-request.ts';
import { InstancesRefused, type PredictPorts, type ScoredRequest, scoreRequest } from './core.ts';
import type { ShadowDispatcher } from './shadow.ts';

/** Decode the body as API Gateway hands it over (base64 for binary media types). */
function bodyText(event: APIGatewayProxyEvent): string | null {
  if (event.body === null || event.body === undefined) return null;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** What watches the served path: capture, metrics. All optional (tests and benchmarks leave them out). */
export interface PredictObservers {
  /** Lambda version serving this request (`AWS_LAMBDA_FUNCTION_VERSION`). @default '$LATEST' */
  readonly functionVersion?: string;
  readonly capture?: (request: CapturedRequest) => CaptureOutcome;
  readonly emitMetrics?: (entries: readonly EmfEntry[]) => void;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** Sends copies to the challenger during a shadow release. @default - no shadows */
  readonly shadow?: ShadowDispatcher;
}

/** Build the Lambda handler around its ports; `logger` gets one structured line per request. */
export function createPredictHandler(ports: PredictPorts, logger: Logger, observers: PredictObservers = {}) {
  const functionVersion = observers.functionVersion ?? '$LATEST';
  const clock = observers.clock ?? (() => new Date());
  const metrics = (model: string, values: MetricValue[]): EmfEntry => ({
    namespace: METRICS_NAMESPACE,
    dimensions: { [DIMENSION.model]: model, [DIMENSION.functionVersion]: functionVersion },
    dimensionSets: [[DIMENSION.model], [DIMENSION.model, DIMENSION.functionVersion]],
    metrics: values,
  });

  /**
   * Capture and count a served request; anything going wrong here is logged, never thrown.
   * True when its capture records were written.
   */
  const observe = (scored: ScoredRequest, requestId: string, latencyMs: number): boolean => {
    const { result } = scored;
    const values: MetricValue[] = [
      { name: PREDICTION_METRICS.predictions, value: result.predictions.length, unit: 'Count' },
      { name: PREDICTION_METRICS.latency, value: latencyMs, unit: 'Milliseconds' },
      { name: PREDICTION_METRICS.serverErrors, value: 0, unit: 'Count' },
    ];
    if (result.predictions.length > 0) {
      let sum = 0;
      for (const p of result.predictions) sum += p.score;
      values.push({ name: PREDICTION_METRICS.meanScore, value: sum / result.predictions.length });
    }
    let captured = false;
    if (observers.capture) {
      const outcome = observers.capture({
        requestId,
        time: clock(),
        model: result.model,
        version: result.version,
        functionVersion,
        latencyMs,
        instances: scored.instances,
        features: scored.features,
        scores: scored.scores,
        labels: result.predictions.map((p) => p.label),
      });
      if ('error' in outcome) {
        logger.warn('capture failed; the prediction was answered', { requestId, error: outcome.error });
        values.push({ name: PREDICTION_METRICS.captureErrors, value: 1, unit: 'Count' });
      } else captured = outcome.captured > 0;
    }
    emit([metrics(result.model, values)]);
    return captured;
  };
  const emit = (entries: readonly EmfEntry[]) => {
    try {
      observers.emitMetrics?.(entries);
    } catch (err) {
      logger.warn('metrics not written', { error: err as Error });
    }
  };

  return async (
    event: APIGatewayProxyEvent,
    context: Pick<Context, 'awsRequestId'>,
  ): Promise<APIGatewayProxyResult> => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const model = event.pathParameters?.model;
    // Started now, so a registry read overlaps scoring; only used once the answer is made.
    const shadow = observers.shadow?.lookAhead();
    try {
      const request = parsePredictRequest(model, bodyText(event));
      const scored = await scoreRequest(request, ports);
      const { result } = scored;
      const latencyMs = performance.now() - started;
      // Debug, not info: every answered prediction is already in the capture record and the
      // metrics (same request id, model, version, latency); a second line per request would double
      // the log ingestion bill and cost the hot path ~10 µs. POWERTOOLS_LOG_LEVEL=DEBUG shows it.
      logger.debug('prediction', {
        requestId,
        model: result.model,
        modelVersion: result.version,
        rows: result.predictions.length,
        latencyMs,
        status: 200,
      });
      const response = jsonResponse(
        200,
        { ...result, requestId },
        { 'x-model-version': String(result.version) },
      );
      const captured = observe(scored, requestId, latencyMs);
      if (shadow && observers.shadow && request.kind === 'instances')
        await observers.shadow.afterAnswer(shadow, {
          requestId,
          model: result.model,
          instances: request.instances,
          captured,
        });
      return response;
    } catch (err) {
      const { response, unexpected } = errorResponse(err, requestId);
      if (err instanceof InstancesRefused)
        response.headers = { ...response.headers, 'x-model-version': String(err.modelVersion) };
      const latencyMs = performance.now() - started;
      if (unexpected)
        logger.error('prediction failed', {
          requestId,
          model,
          latencyMs,
          status: response.statusCode,
          error: err as Error,
        });
      else
        logger.warn('prediction refused', {
          requestId,
          model,
          latencyMs,
          status: response.statusCode,
          reason: (err as Error).message,
        });
      // Server errors count against the model (its artifact is broken, say); refusals of bad
      // input do not, and would let any caller mint metric dimensions from made-up model names.
      if (response.statusCode >= 500 && model !== undefined && isCountableModel(model))
        emit([
          metrics(model, [
            { name: PREDICTION_METRICS.serverErrors, value: 1, unit: 'Count' },
            { name: PREDICTION_METRICS.latency, value: latencyMs, unit: 'Milliseconds' },
          ]),
        ]);
      return response;
    }
  };
}

/** Only well-formed model names become a metric dimension. */
const isCountableModel = (model: string) => ModelName.safeParse(model).success;
