// The predict function's HTTP adapter: API Gateway event in, proxy response out. Parsing and
// error mapping live here so `core.ts` stays plain and the handler stays one line.

import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { errorResponse, jsonResponse } from '../lib/http/respond.ts';
import { parsePredictRequest } from '../lib/schemas/predict-request.ts';
import { type PredictPorts, predict } from './core.ts';

/** Decode the body as API Gateway hands it over (base64 for binary media types). */
function bodyText(event: APIGatewayProxyEvent): string | null {
  if (event.body === null || event.body === undefined) return null;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** Build the Lambda handler around its ports; `logger` gets one structured line per request. */
export function createPredictHandler(ports: PredictPorts, logger: Logger) {
  return async (
    event: APIGatewayProxyEvent,
    context: Pick<Context, 'awsRequestId'>,
  ): Promise<APIGatewayProxyResult> => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const model = event.pathParameters?.model;
    try {
      const request = parsePredictRequest(model, bodyText(event));
      const result = await predict(request, ports);
      const latencyMs = performance.now() - started;
      logger.info('prediction', {
        requestId,
        model: result.model,
        modelVersion: result.version,
        rows: result.predictions.length,
        latencyMs,
        status: 200,
      });
      return jsonResponse(200, { ...result, requestId }, { 'x-model-version': String(result.version) });
    } catch (err) {
      const { response, unexpected } = errorResponse(err, requestId);
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
      return response;
    }
  };
}
