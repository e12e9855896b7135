// One place that turns a use case's result or error into an API Gateway proxy response.
import type { APIGatewayProxyResult } from 'aws-lambda';
import { PlatformError } from '../errors.ts';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** A JSON response with the given status. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** The error envelope every endpoint returns: `{ error: { code, message, details?, requestId } }`. */
export function errorResponse(
  err: unknown,
  requestId: string,
): { response: APIGatewayProxyResult; unexpected: boolean } {
  if (err instanceof PlatformError) {
    const error = {
      code: err.name,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
      requestId,
    };
    return { response: jsonResponse(err.status, { error }), unexpected: false };
  }
  // Anything unknown is our bug, not the caller's: say so without leaking internals.
  const error = {
    code: 'InternalError',
    message: 'internal error; see the function logs for this requestId',
    requestId,
  };
  return { response: jsonResponse(500, { error }), unexpected: true };
}
