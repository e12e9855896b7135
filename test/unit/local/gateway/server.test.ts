// The local gateway as a client sees it: real HTTP on a free port, a hand-built REST API model,
// and a real LambdaService running a small CommonJS handler whose reply the request chooses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestApiModel, Route } from '../../../../local/gateway/rest-api-model.ts';
import { createGatewayListener } from '../../../../local/gateway/server.ts';
import { LambdaService } from '../../../../local/lambda/lambda-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlops-gateway-'));
const bundleFile = join(dir, 'index.js');
// `/v1/reply/{mode}` picks the handler's answer; anything else echoes what the function saw.
writeFileSync(
  bundleFile,
  `exports.handler = async (event) => {
  const mode = event.pathParameters && event.pathParameters.mode;
  if (mode === 'fail') throw new Error('boom');
  if (mode === 'text') return 'not an object';
  if (mode === 'string-status') return { statusCode: '200', body: '' };
  if (mode === 'fractional-status') return { statusCode: 200.5, body: '' };
  if (mode === 'object-body') return { statusCode: 200, body: { ok: true } };
  if (mode === 'extra-key') return { statusCode: 200, body: '', status: 'ok' };
  if (mode === 'bad-header') return { statusCode: 200, headers: { 'x-bad': 'a\\nb' }, body: '' };
  if (mode === 'huge') return { statusCode: 200, body: 'x'.repeat(7 * 1024 * 1024) };
  if (mode === 'go-style') return { statusCode: 204, headers: null, multiValueHeaders: null, body: '', isBase64Encoded: false };
  return {
    statusCode: 201,
    headers: { 'content-type': 'application/json', 'x-one': '1' },
    multiValueHeaders: { 'x-many': ['a', 'b'] },
    body: JSON.stringify({ echo: event }),
  };
};`,
);

const route = (
  resourcePath: string,
  pattern: RegExp,
  paramNames: string[],
  apiKeyRequired = true,
): Route => ({
  httpMethod: 'POST',
  resourcePath,
  pattern,
  paramNames,
  apiKeyRequired,
  functionArn: 'fn',
});

/** What readRestApis builds for `/v1` with three keys, `DisabledKey` having `Enabled: false`. */
const api: RestApiModel = {
  logicalId: 'Api',
  stageName: 'v1',
  routes: [
    route('/models/{model}/predict', /^\/models\/([^/]+)\/predict$/, ['model']),
    route('/reply/{mode}', /^\/reply\/([^/]+)$/, ['mode'], false),
  ],
  keyThrottles: new Map([
    ['ClientKey', { rateLimit: 10_000, burstLimit: 10_000 }],
    ['LimitedKey', { rateLimit: 0.001, burstLimit: 1 }],
  ]),
};
const apiKeys = new Map([
  ['client-key-value', 'ClientKey'],
  ['limited-key-value', 'LimitedKey'],
  ['disabled-key-value', 'DisabledKey'],
]);

const lambda = new LambdaService();
lambda.addFunction({
  logicalId: 'Fn',
  functionName: 'fn',
  bundleFile,
  handlerName: 'handler',
  environment: {},
  memorySize: 128,
  timeoutSeconds: 3,
  logDir: dir,
  maxConcurrency: 1,
});
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer(createGatewayListener({ apis: [api], apiKeys, lambda }));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((ok) => {
    server.close(() => ok());
    server.closeAllConnections();
  });
  await lambda.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One request over node:http, which sends paths and Host headers as given. */
function send(
  path: string,
  options: { body?: string | Buffer; headers?: Record<string, string>; method?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'POST',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const predict = (
  headers: Record<string, string> = { 'x-api-key': 'client-key-value' },
  model = 'flight-delay',
) => send(`/v1/models/${model}/predict`, { body: '{"instances":[]}', headers });

/** Raw bytes on a socket: the request line exactly as written, which fetch and node:http would normalize. */
function sendRaw(requestLine: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    socket.on('error', reject);
    socket.write(
      `${requestLine}\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  });
}

const lambdaClient = () =>
  new LambdaClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

describe('REST API routes', () => {
  it('invokes the function with a proxy event and answers its response', async () => {
    const res = await predict(undefined, 'flight%20delay');
    expect(res.status).toBe(201);
    expect(res.headers['x-one']).toBe('1');
    expect(res.headers['x-many']).toBe('a, b');
    expect(res.headers['x-amzn-requestid']).toEqual(expect.any(String));
    expect(res.json.echo).toMatchObject({
      resource: '/models/{model}/predict',
      path: '/models/flight%20delay/predict',
      httpMethod: 'POST',
      pathParameters: { model: 'flight delay' },
      body: '{"instances":[]}',
      requestContext: { stage: 'v1', identity: { apiKey: 'client-key-value' } },
    });
  });

  it('accepts null for optional proxy response fields, as AWS does', async () => {
    expect((await send('/v1/reply/go-style')).status).toBe(204);
  });

  it('answers 404 for a route the API does not have', async () => {
    const res = await send('/v1/models/flight-delay/explain');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('MISSING_AUTHENTICATION_TOKEN');
  });

  it('answers 400 for bad percent-encoding in a path parameter', async () => {
    const res = await predict(undefined, '%E0%A4%A');
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'BAD_REQUEST_PARAMETERS', requestId: expect.any(String) });
  });

  it('answers 413 for a body over 10 MB', async () => {
    const res = await send('/v1/reply/echo', { body: Buffer.alloc(11 * 1024 * 1024, 'x') });
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('answers 502 for a body API Gateway takes but Lambda does not (6 to 10 MB)', async () => {
    const res = await send('/v1/reply/echo', { body: Buffer.alloc(7 * 1024 * 1024, 'x') });
    expect(res.status).toBe(502);
    expect(res.json.error).toMatchObject({
      code: 'DEFAULT_5XX',
      message: 'Lambda invocation payload exceeds 6 MB',
    });
  });

  it('answers 502 when the function fails', async () => {
    const res = await send('/v1/reply/fail');
    expect(res.status).toBe(502);
    expect(res.json.error).toMatchObject({ code: 'DEFAULT_5XX', message: 'Internal server error' });
  });

  it('answers 502 when the function response exceeds 6 MB', async () => {
    const res = await send('/v1/reply/huge');
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe('DEFAULT_5XX');
  });

  it.each(['text', 'string-status', 'fractional-status', 'object-body', 'extra-key', 'bad-header'])(
    'answers 502 for a malformed proxy response (%s)',
    async (mode) => {
      const res = await send(`/v1/reply/${mode}`);
      expect(res.status).toBe(502);
      expect(res.json.error).toMatchObject({
        code: 'DEFAULT_5XX',
        message: 'Malformed Lambda proxy response',
      });
    },
  );
});

describe('API keys and throttling', () => {
  it('answers 403 without an API key', async () => {
    const res = await predict({});
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('INVALID_API_KEY');
  });

  it('answers 403 for an unknown API key', async () => {
    expect((await predict({ 'x-api-key': 'wrong' })).status).toBe(403);
  });

  it('answers 403 for a disabled API key', async () => {
    expect((await predict({ 'x-api-key': 'disabled-key-value' })).status).toBe(403);
  });

  it("answers 429 once the key's usage-plan burst is spent", async () => {
    const first = await predict({ 'x-api-key': 'limited-key-value' });
    const second = await predict({ 'x-api-key': 'limited-key-value' });
    expect([first.status, second.status]).toEqual([201, 429]);
    expect(second.json.error.code).toBe('THROTTLED');
  });
});

describe('hostile requests', () => {
  it.each(['POST //[ HTTP/1.1', 'POST //evil/v1/reply/echo HTTP/1.1', 'POST /\\evil/v1/reply/echo HTTP/1.1'])(
    'answers 400 to a request target that is not a path (%s) and keeps serving',
    async (requestLine) => {
      const res = await sendRaw(requestLine);
      expect(res.status).toBe(400);
      expect(res.text).toContain('"code":"BAD_REQUEST"');
      expect((await send('/v1/reply/echo')).status).toBe(201);
    },
  );

  it('answers 403 to a Host that is not this listener (DNS rebinding)', async () => {
    const res = await send('/v1/reply/echo', { headers: { host: `evil.example:${port}` } });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('FORBIDDEN_HOST');
  });

  it('answers 403 to a Host naming another port', async () => {
    expect((await send('/v1/reply/echo', { headers: { host: `127.0.0.1:${port + 1}` } })).status).toBe(403);
  });

  it('serves localhost and [::1] with the listener port', async () => {
    expect((await send('/v1/reply/echo', { headers: { host: `localhost:${port}` } })).status).toBe(201);
    expect((await send('/v1/reply/echo', { headers: { host: `[::1]:${port}` } })).status).toBe(201);
  });
});

describe('Lambda Invoke API', () => {
  const invokePath = '/2015-03-31/functions/fn/invocations';
  const signed = {
    authorization: 'AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/lambda/aws4_request',
  };

  it('answers 403 to an unsigned request, as a web page would send', async () => {
    const res = await send(invokePath, { body: '{}', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    expect(res.json).toEqual({ message: 'Missing Authentication Token' });
  });

  it('runs the function for a signed SDK request', async () => {
    const out = await lambdaClient().send(
      new InvokeCommand({ FunctionName: 'fn', Payload: Buffer.from('{"pathParameters":{"mode":"text"}}') }),
    );
    expect(out.FunctionError).toBeUndefined();
    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(JSON.parse(Buffer.from(out.Payload ?? []).toString())).toBe('not an object');
  });

  it('answers ResourceNotFoundException for an unknown function', async () => {
    await expect(
      lambdaClient().send(new InvokeCommand({ FunctionName: 'no-such-function' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers 413 RequestTooLargeException for a payload over 6 MB', async () => {
    const body = `"${'x'.repeat(6 * 1024 * 1024)}"`;
    const res = await send(invokePath, { body, headers: signed });
    expect(res.status).toBe(413);
    expect(res.headers['x-amzn-errortype']).toBe('RequestTooLargeException');
  });

  it('answers 403 to an SDK request with a foreign Host', async () => {
    const res = await send(invokePath, { body: '{}', headers: { ...signed, host: 'evil.example' } });
    expect(res.status).toBe(403);
  });
});
