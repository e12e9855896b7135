// The Lambda API on the gateway port: the Invoke API (`POST /2015-03-31/functions/{name}/invocations`,
// RequestResponse and Event) here, every other operation under `/2015-03-31/functions/` in
// lambda-api.ts, so SDK clients and the CLI run and manage local functions exactly as deployed
// ones. Only SigV4-signed requests are served: the AWS SDK always signs, and a web page cannot
// send an `authorization` header cross-origin without a CORS preflight, which this server never
// grants.
import type { IncomingMessage } from 'node:http';
import { FunctionError } from '../lambda/function-runtime.ts';
import { type LambdaService, ResourceNotFound, TooManyRequestsException } from '../lambda/lambda-service.ts';
import { lambdaControlApi } from './lambda-api.ts';
import { header, readBody, safeDecode } from './request.ts';

/** Lambda's limit on a synchronous invocation's request and response payloads. */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

export const INVOKE_API_PREFIX = '/2015-03-31/functions/';

/** True for the Lambda API's paths: `/2015-03-31/functions` (ListFunctions) and below. */
export function isLambdaApiPath(pathname: string): boolean {
  return pathname === '/2015-03-31/functions' || pathname.startsWith(INVOKE_API_PREFIX);
}

export type Respond = (status: number, body: string, headers?: Record<string, string>) => void;

const lambdaError = (respond: Respond, status: number, type: string, message: string) =>
  respond(status, JSON.stringify({ Type: 'User', message }), { 'x-amzn-errortype': type });

/** Answer one Lambda API request: an invocation (RequestResponse or Event) or a control-plane call. */
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
  if (req.method !== 'POST' || !match?.[1]) return lambdaControlApi(lambda, req, url, respond);
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
  const invocationType = header(req, 'x-amz-invocation-type') ?? 'RequestResponse';
  if (invocationType !== 'RequestResponse' && invocationType !== 'Event' && invocationType !== 'DryRun')
    return lambdaError(
      respond,
      400,
      'InvalidParameterValueException',
      `X-Amz-Invocation-Type must be RequestResponse, Event or DryRun (got ${invocationType})`,
    );
  if (invocationType !== 'RequestResponse') {
    try {
      if (invocationType === 'DryRun') {
        lambda.assertInvocable(ref);
        return respond(204, '');
      }
      // Resolved (and for an alias, drawn) now; runs in the background; a failure is logged.
      lambda.invokeAsync(ref, event);
      return respond(202, '');
    } catch (err) {
      if (err instanceof ResourceNotFound)
        return lambdaError(respond, 404, 'ResourceNotFoundException', err.message);
      throw err;
    }
  }
  let version: string;
  let payload: string;
  try {
    const out = await lambda.invoke(ref, event);
    version = out.version;
    payload = JSON.stringify(out.result ?? null);
  } catch (err) {
    if (err instanceof ResourceNotFound)
      return lambdaError(respond, 404, 'ResourceNotFoundException', err.message);
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
