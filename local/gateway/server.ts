// The local API Gateway and Lambda endpoint on one loopback port:
//   /{stage}/…                      REST API routes from the template (Lambda proxy integration)
//   /2015-03-31/functions/…/invocations   the Lambda Invoke API, so SDK clients and the CLI
//                                          talk to local functions exactly as to AWS.
// Gateway-made errors use the same JSON envelope the stack's GatewayResponses configure.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FunctionError } from '../lambda/function-runtime.ts';
import { type LambdaService, ResourceNotFound } from '../lambda/lambda-service.ts';
import type { AccessLog } from './access-log.ts';
import type { RestApiModel, Route } from './rest-api-model.ts';
import { TokenBucket } from './token-bucket.ts';

/** API Gateway's own payload limit for REST APIs. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface GatewayOptions {
  readonly apis: readonly RestApiModel[];
  /** API key value → API key logical id. */
  readonly apiKeys: ReadonlyMap<string, string>;
  readonly lambda: LambdaService;
  /** Access log (one JSON line per request), like the stage's access log group. */
  readonly accessLog?: AccessLog;
}

interface Json {
  statusCode?: number;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** Request listener for `http.createServer`. */
export function createGatewayListener(options: GatewayOptions) {
  const buckets = new Map<string, TokenBucket>();
  const bucketFor = (id: string, throttle: { rateLimit: number; burstLimit: number } | undefined) => {
    if (!throttle) return undefined;
    let bucket = buckets.get(id);
    if (!bucket) {
      bucket = new TokenBucket(throttle);
      buckets.set(id, bucket);
    }
    return bucket;
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://local');
    let status = 0;
    const finish = (statusCode: number, body: string, headers: Record<string, string | string[]> = {}) => {
      status = statusCode;
      res.writeHead(statusCode, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-amzn-requestid': requestId,
        ...headers,
      });
      res.end(body);
      logAccess();
    };
    const logAccess = () =>
      options.accessLog?.write({
        requestId,
        ip: req.socket.remoteAddress,
        httpMethod: req.method,
        path: url.pathname,
        status,
        responseLatencyMs: Math.round(performance.now() - started),
      });
    const gatewayError = (statusCode: number, code: string, message: string) =>
      finish(statusCode, JSON.stringify({ error: { code, message, requestId } }));

    readBody(req, MAX_BODY_BYTES)
      .then(async (body) => {
        if (body === undefined) return gatewayError(413, 'REQUEST_TOO_LARGE', 'Request Too Long');
        if (url.pathname.startsWith('/2015-03-31/functions/'))
          return invokeApi(options.lambda, req, url, body, finish);

        const [, stageName = '', ...rest] = url.pathname.split('/');
        const path = `/${rest.join('/')}`;
        const api = options.apis.find((a) => a.stageName === stageName);
        const match = api && findRoute(api.routes, req.method ?? 'GET', path);
        if (!api || !match)
          return gatewayError(
            404,
            'MISSING_AUTHENTICATION_TOKEN',
            `No route for ${req.method} ${url.pathname}`,
          );
        const { route, pathParameters } = match;

        const apiKey = header(req, 'x-api-key');
        if (route.apiKeyRequired) {
          const keyId = apiKey === undefined ? undefined : options.apiKeys.get(apiKey);
          if (!keyId || !api.keyThrottles.has(keyId))
            return gatewayError(403, 'INVALID_API_KEY', 'Forbidden');
          if (bucketFor(`key:${keyId}`, api.keyThrottles.get(keyId))?.take() === false) {
            return gatewayError(429, 'THROTTLED', 'Too Many Requests');
          }
        }
        if (bucketFor(`stage:${api.logicalId}`, api.stageThrottle)?.take() === false)
          return gatewayError(429, 'THROTTLED', 'Too Many Requests');

        const event = {
          resource: route.resourcePath,
          path,
          httpMethod: req.method,
          headers: flatHeaders(req),
          multiValueHeaders: multiHeaders(req),
          queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : null,
          multiValueQueryStringParameters: null,
          pathParameters,
          stageVariables: null,
          requestContext: {
            requestId,
            stage: api.stageName,
            resourcePath: route.resourcePath,
            httpMethod: req.method,
            path: url.pathname,
            requestTimeEpoch: Date.now(),
            identity: {
              sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
              apiKey: apiKey ?? null,
              userAgent: header(req, 'user-agent') ?? null,
            },
          },
          body: body.length === 0 ? null : body.toString('utf8'),
          isBase64Encoded: false,
        };
        let proxy: Json;
        try {
          proxy = (await options.lambda.invoke(route.functionArn, event, requestId)).result as Json;
        } catch (err) {
          if (!(err instanceof FunctionError)) throw err;
          return gatewayError(502, 'DEFAULT_5XX', 'Internal server error');
        }
        if (typeof proxy?.statusCode !== 'number')
          return gatewayError(502, 'DEFAULT_5XX', 'Malformed Lambda proxy response');
        const headers: Record<string, string | string[]> = { ...proxy.headers };
        for (const [k, v] of Object.entries(proxy.multiValueHeaders ?? {})) headers[k] = v;
        const responseBody = proxy.isBase64Encoded
          ? Buffer.from(proxy.body ?? '', 'base64')
          : (proxy.body ?? '');
        status = proxy.statusCode;
        res.writeHead(proxy.statusCode, {
          'x-amzn-requestid': requestId,
          ...headers,
          'content-length': Buffer.byteLength(responseBody),
        });
        res.end(responseBody);
        logAccess();
      })
      .catch((err: unknown) => {
        if (!res.headersSent)
          gatewayError(500, 'LOCAL_GATEWAY_ERROR', `local gateway failure: ${(err as Error).message}`);
      });
  };
}

/** The Lambda Invoke API (RequestResponse and Event invocation types). */
async function invokeApi(
  lambda: LambdaService,
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  finish: (status: number, body: string, headers?: Record<string, string>) => void,
): Promise<void> {
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
  if (req.method !== 'POST' || !match?.[1])
    return finish(404, JSON.stringify({ message: 'Unknown Lambda API operation' }));
  const qualifier = url.searchParams.get('Qualifier');
  const name = decodeURIComponent(match[1]);
  const ref = qualifier ? `${name}:${qualifier}` : name;
  let event: unknown;
  try {
    event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return finish(400, JSON.stringify({ Type: 'User', message: 'Could not parse request body into json' }), {
      'x-amzn-errortype': 'InvalidRequestContentException',
    });
  }
  try {
    lambda.resolveVersion(ref);
  } catch (err) {
    if (err instanceof ResourceNotFound) {
      return finish(404, JSON.stringify({ Type: 'User', message: err.message }), {
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
    }
    throw err;
  }
  if (header(req, 'x-amz-invocation-type') === 'Event') {
    lambda.invoke(ref, event).catch(() => undefined); // failures land in the function's log
    return finish(202, '');
  }
  try {
    const { version, result } = await lambda.invoke(ref, event);
    return finish(200, JSON.stringify(result ?? null), { 'x-amz-executed-version': version });
  } catch (err) {
    if (!(err instanceof FunctionError)) throw err;
    return finish(200, JSON.stringify(err.payload), { 'x-amz-function-error': 'Unhandled' });
  }
}

function findRoute(routes: readonly Route[], method: string, path: string) {
  for (const route of routes) {
    if (route.httpMethod !== method && route.httpMethod !== 'ANY') continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const pathParameters: Record<string, string> = {};
    route.paramNames.forEach((name, i) => {
      pathParameters[name] = decodeURIComponent(m[i + 1] ?? '');
    });
    return { route, pathParameters: route.paramNames.length > 0 ? pathParameters : null };
  }
  return undefined;
}

/** Read the body, or undefined once it exceeds `limit` (the rest is discarded). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

function multiHeaders(req: IncomingMessage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v : [v];
  return out;
}
