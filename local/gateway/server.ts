// The local API Gateway and Lambda endpoint on one loopback port:
//   /{stage}/…                      REST API routes from the template (Lambda proxy integration)
//   /2015-03-31/functions/…   the Lambda API (Invoke, and the control plane: versions, aliases,
//                             configuration), so SDK clients and the CLI talk to local
//                             functions exactly as to AWS.
//   POST / with x-amz-target: AWSStepFunctions.*   the Step Functions API, likewise.
//   POST / with x-amz-target: GraniteServiceVersion20100801.*   the CloudWatch API (alarms, metrics).
//   POST / with x-amz-target: CodeDeploy_20141006.*   the CodeDeploy read API (no code release runs here).
// Requests to a REST API stage are counted as AWS/ApiGateway metrics when a metrics sink is given.
// Gateway-made errors use the same JSON envelope the stack's GatewayResponses configure.
// The listener never throws: hostile input gets a 4xx, a local fault a 500.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cloudWatchApi, isCloudWatchRequest } from '../cloudwatch/cloudwatch-api.ts';
import type { LocalCloudWatch } from '../cloudwatch/local-cloudwatch.ts';
import { codeDeployApi, type DeploymentGroups, isCodeDeployRequest } from '../codedeploy/code-deploy-api.ts';
import { FunctionError } from '../lambda/function-runtime.ts';
import type { LambdaService } from '../lambda/lambda-service.ts';
import type { LocalStepFunctions } from '../stepfunctions/local-step-functions.ts';
import type { AccessLog } from './access-log.ts';
import { invokeApi, isLambdaApiPath, LAMBDA_PAYLOAD_LIMIT } from './invoke-api.ts';
import { parseProxyResponse } from './proxy-response.ts';
import {
  header,
  hostChecker,
  LOOPBACK_HOSTNAMES,
  parseTarget,
  proxyHeaders,
  readBody,
  safeDecode,
} from './request.ts';
import type { RestApiModel, Route, Throttle } from './rest-api-model.ts';
import { isStepFunctionsRequest, stepFunctionsApi } from './stepfunctions-api.ts';
import { TokenBucket } from './token-bucket.ts';

/** API Gateway's own payload limit for REST APIs. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Bodies up to this size cannot make the proxy event exceed Lambda's 6 MB (JSON escaping grows
 * a byte to at most 6, and Node caps the request line and headers at 16 KB), so only larger
 * ones pay for serializing the event to measure it.
 */
const EVENT_SIZE_CHECK_FROM = 512 * 1024;

export interface GatewayOptions {
  readonly apis: readonly RestApiModel[];
  /** API key value → API key logical id. */
  readonly apiKeys: ReadonlyMap<string, string>;
  readonly lambda: LambdaService;
  /** Serves the Step Functions API when given. */
  readonly stepFunctions?: LocalStepFunctions;
  /** Serves the CloudWatch API when given. */
  readonly cloudWatch?: LocalCloudWatch;
  /** Serves the CodeDeploy read API for these deployment groups when given. */
  readonly codeDeploy?: DeploymentGroups;
  /** Told about every request to a REST API stage (the AWS/ApiGateway metrics). */
  readonly metrics?: GatewayMetricsSink;
  /** Access log (one JSON line per request), like the stage's access log group. */
  readonly accessLog?: AccessLog;
  /**
   * Host names (lower case, IPv6 in brackets) accepted in the `Host` header, with the
   * listener's port; any other Host is refused (403) so a rebound DNS name cannot reach it.
   * @default ['127.0.0.1', 'localhost', '[::1]']
   */
  readonly hostnames?: readonly string[];
}

type Headers = Record<string, string | string[]>;

/**
 * Receives each request answered on a REST API stage: its status, the whole request's latency
 * and, when the Lambda integration was called, the integration's latency (ms).
 */
export interface GatewayMetricsSink {
  onRequest(
    api: RestApiModel,
    status: number,
    latencyMs: number,
    integrationLatencyMs: number | undefined,
  ): void;
}

/** Request listener for `http.createServer`. */
export function createGatewayListener(
  options: GatewayOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const gateway = new Gateway(options);
  return (req, res) => gateway.handle(req, res);
}

// Per-request state lives in an Exchange and the steps are methods rather than closures made
// per request: tsx compiles with esbuild's keepNames, which costs each named closure a
// defineProperty call on the hot path.
class Gateway {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly hostAllowed: (req: IncomingMessage) => boolean;

  constructor(private readonly options: GatewayOptions) {
    this.hostAllowed = hostChecker(options.hostnames ?? LOOPBACK_HOSTNAMES);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const ex = new Exchange(req, res, this.options.accessLog, this.options.metrics);
    try {
      const url = parseTarget(req.url);
      ex.url = url;
      if (!this.hostAllowed(req))
        ex.gatewayError(
          403,
          'FORBIDDEN_HOST',
          `Host ${JSON.stringify(req.headers.host ?? '')} is not this local gateway (use 127.0.0.1 or localhost with its port)`,
        );
      else if (!url)
        ex.gatewayError(400, 'BAD_REQUEST', 'The request target must be a path starting with one /');
      else if (this.options.stepFunctions && isStepFunctionsRequest(req))
        stepFunctionsApi(this.options.stepFunctions, req, (status, body, headers) =>
          ex.finish(status, body, headers),
        ).catch((err: unknown) => ex.fail(err));
      else if (this.options.cloudWatch && isCloudWatchRequest(req))
        cloudWatchApi(this.options.cloudWatch, req, (status, body, headers) =>
          ex.finish(status, body, headers),
        ).catch((err: unknown) => ex.fail(err));
      else if (this.options.codeDeploy && isCodeDeployRequest(req))
        codeDeployApi(this.options.codeDeploy, req, (status, body, headers) =>
          ex.finish(status, body, headers),
        ).catch((err: unknown) => ex.fail(err));
      else if (isLambdaApiPath(url.pathname))
        invokeApi(this.options.lambda, req, url, (status, body, headers) =>
          ex.finish(status, body, headers),
        ).catch((err: unknown) => ex.fail(err));
      else this.serveRoute(ex, url).catch((err: unknown) => ex.fail(err));
    } catch (err) {
      ex.fail(err);
    }
  }

  private async serveRoute(ex: Exchange, url: URL): Promise<void> {
    const { req } = ex;
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return ex.gatewayError(413, 'REQUEST_TOO_LARGE', 'Request Too Long');

    const [, stageName = '', ...rest] = url.pathname.split('/');
    const path = `/${rest.join('/')}`;
    const api = this.options.apis.find((a) => a.stageName === stageName);
    ex.api = api;
    const found = api && findRoute(api.routes, req.method ?? 'GET', path);
    if (!api || !found)
      return ex.gatewayError(
        404,
        'MISSING_AUTHENTICATION_TOKEN',
        `No route for ${req.method} ${url.pathname}`,
      );
    const { route } = found;
    const pathParameters = decodePathParameters(route, found.match);
    if (pathParameters === undefined)
      return ex.gatewayError(400, 'BAD_REQUEST_PARAMETERS', 'Invalid percent-encoding in the request path');

    const apiKey = header(req, 'x-api-key');
    if (route.apiKeyRequired) {
      const keyId = apiKey === undefined ? undefined : this.options.apiKeys.get(apiKey);
      if (!keyId || !api.keyThrottles.has(keyId)) return ex.gatewayError(403, 'INVALID_API_KEY', 'Forbidden');
      if (this.bucketFor(`key:${keyId}`, api.keyThrottles.get(keyId))?.take() === false)
        return ex.gatewayError(429, 'THROTTLED', 'Too Many Requests');
    }
    if (this.bucketFor(`stage:${api.logicalId}`, api.stageThrottle)?.take() === false)
      return ex.gatewayError(429, 'THROTTLED', 'Too Many Requests');

    const { headers, multiValueHeaders } = proxyHeaders(req);
    const event = {
      resource: route.resourcePath,
      path,
      httpMethod: req.method,
      headers,
      multiValueHeaders,
      queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : null,
      multiValueQueryStringParameters: null,
      pathParameters,
      stageVariables: null,
      requestContext: {
        requestId: ex.requestId,
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
    // API Gateway takes up to 10 MB, Lambda 6 MB: on AWS the invoke fails and the client gets a 5xx.
    if (
      body.length > EVENT_SIZE_CHECK_FROM &&
      Buffer.byteLength(JSON.stringify(event)) > LAMBDA_PAYLOAD_LIMIT
    )
      return ex.gatewayError(502, 'DEFAULT_5XX', 'Lambda invocation payload exceeds 6 MB');

    let result: unknown;
    const integrationStarted = performance.now();
    try {
      result = (await this.options.lambda.invoke(route.functionArn, event, ex.requestId)).result;
    } catch (err) {
      ex.integrationLatencyMs = performance.now() - integrationStarted;
      if (!(err instanceof FunctionError)) throw err;
      return ex.gatewayError(502, 'DEFAULT_5XX', 'Internal server error');
    }
    ex.integrationLatencyMs = performance.now() - integrationStarted;
    const proxy = parseProxyResponse(result);
    if (!proxy) return ex.gatewayError(502, 'DEFAULT_5XX', 'Malformed Lambda proxy response');
    const proxyBody = proxy.body ?? '';
    // Approximates Lambda's 6 MB response limit by the body, which is nearly all of it.
    if (proxyBody.length > EVENT_SIZE_CHECK_FROM && Buffer.byteLength(proxyBody) > LAMBDA_PAYLOAD_LIMIT)
      return ex.gatewayError(502, 'DEFAULT_5XX', 'Lambda response payload exceeds 6 MB');
    const responseHeaders: Headers = { ...proxy.headers };
    for (const [k, v] of Object.entries(proxy.multiValueHeaders ?? {})) responseHeaders[k] = v;
    const responseBody = proxy.isBase64Encoded ? Buffer.from(proxyBody, 'base64') : proxyBody;
    if (!ex.sendProxyResponse(proxy.statusCode, responseHeaders, responseBody))
      ex.gatewayError(502, 'DEFAULT_5XX', 'Malformed Lambda proxy response');
  }

  private bucketFor(id: string, throttle: Throttle | undefined): TokenBucket | undefined {
    if (!throttle) return undefined;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = new TokenBucket(throttle);
      this.buckets.set(id, bucket);
    }
    return bucket;
  }
}

/** One request and its response: how it is answered and logged. */
class Exchange {
  readonly started = performance.now();
  readonly requestId = randomUUID();
  url: URL | undefined;
  /** The REST API whose stage the request named (requests to it are counted in its metrics). */
  api: RestApiModel | undefined;
  /** How long the Lambda integration took, when it was called. */
  integrationLatencyMs: number | undefined;
  private status = 0;

  constructor(
    readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly accessLog: AccessLog | undefined,
    private readonly metrics: GatewayMetricsSink | undefined,
  ) {}

  finish(statusCode: number, body: string, headers: Headers = {}): void {
    this.status = statusCode;
    this.res.writeHead(statusCode, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': this.requestId,
      ...headers,
    });
    this.res.end(body);
    this.logAccess();
  }

  /** An error the gateway itself makes, in the envelope the stack's GatewayResponses set. */
  gatewayError(statusCode: number, code: string, message: string): void {
    this.finish(statusCode, JSON.stringify({ error: { code, message, requestId: this.requestId } }));
  }

  /** Answer a proxy response, or false when Node refuses its headers (nothing is sent then). */
  sendProxyResponse(statusCode: number, headers: Headers, body: string | Buffer): boolean {
    try {
      this.res.writeHead(statusCode, {
        'x-amzn-requestid': this.requestId,
        ...headers,
        'content-length': Buffer.byteLength(body),
      });
    } catch {
      return false; // e.g. a header name with a space or a value with a newline
    }
    this.status = statusCode;
    this.res.end(body);
    this.logAccess();
    return true;
  }

  /** A fault of the local gateway: a 500 if nothing was sent yet, else a cut connection. */
  fail(err: unknown): void {
    if (this.res.headersSent) this.res.destroy();
    else this.gatewayError(500, 'LOCAL_GATEWAY_ERROR', `local gateway failure: ${(err as Error)?.message}`);
  }

  private logAccess(): void {
    const latencyMs = performance.now() - this.started;
    if (this.api && this.metrics)
      this.metrics.onRequest(this.api, this.status, latencyMs, this.integrationLatencyMs);
    this.accessLog?.write({
      requestId: this.requestId,
      ip: this.req.socket.remoteAddress,
      httpMethod: this.req.method,
      path: this.url?.pathname ?? this.req.url,
      status: this.status,
      responseLatencyMs: Math.round(latencyMs),
    });
  }
}

function findRoute(routes: readonly Route[], method: string, path: string) {
  for (const route of routes) {
    if (route.httpMethod !== method && route.httpMethod !== 'ANY') continue;
    const match = route.pattern.exec(path);
    if (match) return { route, match };
  }
  return undefined;
}

/** The route's path parameters (null when it has none), or undefined for bad percent-encoding. */
function decodePathParameters(
  route: Route,
  match: RegExpExecArray,
): Record<string, string> | null | undefined {
  if (route.paramNames.length === 0) return null;
  const pathParameters: Record<string, string> = {};
  for (const [i, name] of route.paramNames.entries()) {
    const value = safeDecode(match[i + 1] ?? '');
    if (value === undefined) return undefined;
    pathParameters[name] = value;
  }
  return pathParameters;
}
