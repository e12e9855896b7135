// The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), so SDK clients and
// the CLI run local functions exactly as they run deployed ones. Only SigV4-signed requests are
// served: the AWS SDK always signs, and a web page cannot send an `authorization` header
// cross-origin without a CORS preflight, which this server never grants.
import type { IncomingMessage } from 'node:http';
import { FunctionError } from '../lambda/function-runtime.ts';
import { type LambdaService, ResourceNotFound, TooManyRequestsException } from '../lambda/lambda-service.ts';
import { header, readBody, safeDecode } from './request.ts';

/** Lambda's limit on a synchronous invocation's request and response payloads. */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

export const INVOKE_API_PREFIX = '/2015-03-31/functions/';

export type Respond = (status: number, body: string, headers?: Record<string, string>) => void;

const lambdaError = (respond: Respond, status: number, type: string, message: string) =>
  respond(status, JSON.stringify({ Type: 'User', message }), { 'x-amzn-errortype': type });

/** Answer one Invoke API request (RequestResponse and Event invocation types). */
export async function invokeApi(
  lambda: LambdaService,
  req: IncomingMessage,
  url: URL,
  respond: Respond,
): Promise<void> {
  if (!header(req, 'authorization')?.startsWith('AWS4-HMAC-SHA256'))
    return respond(403, JSON.stringify({ message: 'Missing Authentication Token' }), {
      'x-amzn-errortype': 'MissingAuthenticationTokenException',
    });
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
  if (req.method !== 'POST' || !match?.[1])
    return respond(404, JSON.stringify({ message: 'Unknown Lambda API operation' }));
  const name = safeDecode(match[1]);
  if (name === undefined)
    return lambdaError(respond, 400, 'ValidationException', `function name ${match[1]} is not valid`);
  const body = await readBody(req, LAMBDA_PAYLOAD_LIMIT);
  if (body === undefined)
    return lambdaError(
      respond,
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${LAMBDA_PAYLOAD_LIMIT} bytes for the InvokeFunction operation`,
    );
  const qualifier = url.searchParams.get('Qualifier');
  const ref = qualifier ? `${name}:${qualifier}` : name;
  let event: unknown;
  try {
    event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return lambdaError(
      respond,
      400,
      'InvalidRequestContentException',
      'Could not parse request body into json',
    );
  }
  try {
    lambda.resolveVersion(ref);
  } catch (err) {
    if (err instanceof ResourceNotFound)
      return lambdaError(respond, 404, 'ResourceNotFoundException', err.message);
    throw err;
  }
  if (header(req, 'x-amz-invocation-type') === 'Event') {
    lambda.invoke(ref, event).catch(() => undefined); // failures land in the function's log
    return respond(202, '');
  }
  let version: string;
  let payload: string;
  try {
    const out = await lambda.invoke(ref, event);
    version = out.version;
    payload = JSON.stringify(out.result ?? null);
  } catch (err) {
    if (err instanceof TooManyRequestsException)
      return respond(
        429,
        JSON.stringify({
          Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
          Type: 'User',
          message: err.message,
        }),
        { 'x-amzn-errortype': 'TooManyRequestsException' },
      );
    if (!(err instanceof FunctionError)) throw err;
    return respond(200, JSON.stringify(err.payload), { 'x-amz-function-error': 'Unhandled' });
  }
  if (Buffer.byteLength(payload) > LAMBDA_PAYLOAD_LIMIT)
    return respond(
      200,
      JSON.stringify({
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${LAMBDA_PAYLOAD_LIMIT} bytes).`,
      }),
      { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': version },
    );
  return respond(200, payload, { 'x-amz-executed-version': version });
}
