// The Lambda API's control plane (REST JSON under `/2015-03-31/functions/`) over the local Lambda
// service, so releases publish versions and shift alias weights with the same SDK calls as on
// AWS: ListFunctions, GetFunction, GetFunctionConfiguration, UpdateFunctionConfiguration,
// PublishVersion, ListVersionsByFunction, CreateAlias, GetAlias, UpdateAlias, ListAliases.
// Paths, field names and status codes follow @aws-sdk/client-lambda's model; errors carry
// Lambda's names (`x-amzn-errortype`) so the SDK raises its own exception classes.
// The caller (invoke-api.ts) has already checked the request is SigV4-signed.
import type { IncomingMessage } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { AliasRouting } from '../lambda/alias-routing.ts';
import { InvalidParameterValueException, LambdaApiError } from '../lambda/errors.ts';
import type { ConfigurationUpdate } from '../lambda/function-configuration.ts';
import { type AliasEntry, functionArn } from '../lambda/function-versions.ts';
import type { FunctionView, LambdaService } from '../lambda/lambda-service.ts';
import type { Respond } from './invoke-api.ts';
import { readBody, safeDecode } from './request.ts';

/** Control-plane requests are small (Lambda caps environment variables at 4 KB). */
const MAX_REQUEST_BYTES = 256 * 1024;
const PREFIX = '/2015-03-31/functions/';

type Body = Readonly<Record<string, unknown>>;

interface Call {
  readonly lambda: LambdaService;
  /** The function name (or ARN) from the path. */
  readonly fn: string;
  /** The alias name from the path, for alias operations. */
  readonly alias: string;
  readonly query: URLSearchParams;
  readonly body: Body;
}

interface Operation {
  readonly name: string;
  readonly method: 'GET' | 'PUT' | 'POST';
  /** Path after `/2015-03-31/functions/`, `{fn}` and `{alias}` standing for segments. */
  readonly path: string;
  readonly status: number;
  run(call: Call): unknown;
}

const OPERATIONS: readonly Operation[] = [
  {
    name: 'ListFunctions',
    method: 'GET',
    path: '',
    status: 200,
    run: ({ lambda, query }) => listed('Functions', lambda.listFunctions().map(configurationJson), query),
  },
  {
    name: 'GetFunction',
    method: 'GET',
    path: '{fn}',
    status: 200,
    run: ({ lambda, fn, query }) => {
      const view = lambda.getFunctionConfiguration(fn, qualifierOf(query));
      return {
        Configuration: configurationJson(view),
        Code: { RepositoryType: 'S3', Location: pathToFileURL(view.config.codeRoot).href },
      };
    },
  },
  {
    name: 'GetFunctionConfiguration',
    method: 'GET',
    path: '{fn}/configuration',
    status: 200,
    run: ({ lambda, fn, query }) =>
      configurationJson(lambda.getFunctionConfiguration(fn, qualifierOf(query))),
  },
  {
    name: 'UpdateFunctionConfiguration',
    method: 'PUT',
    path: '{fn}/configuration',
    status: 200,
    run: ({ lambda, fn, body }) =>
      configurationJson(
        lambda.updateFunctionConfiguration(fn, configurationUpdate(body), optionalString(body, 'RevisionId')),
      ),
  },
  {
    name: 'PublishVersion',
    method: 'POST',
    path: '{fn}/versions',
    status: 201,
    run: ({ lambda, fn, body }) => {
      refuseUnsupported('PublishVersion', body, ['CodeSha256', 'Description', 'RevisionId']);
      const description = optionalString(body, 'Description');
      const codeSha256 = optionalString(body, 'CodeSha256');
      const revisionId = optionalString(body, 'RevisionId');
      return configurationJson(
        lambda.publishVersion(fn, {
          ...(description === undefined ? {} : { description }),
          ...(codeSha256 === undefined ? {} : { codeSha256 }),
          ...(revisionId === undefined ? {} : { revisionId }),
        }),
      );
    },
  },
  {
    name: 'ListVersionsByFunction',
    method: 'GET',
    path: '{fn}/versions',
    status: 200,
    run: ({ lambda, fn, query }) => listed('Versions', lambda.listVersions(fn).map(configurationJson), query),
  },
  {
    name: 'CreateAlias',
    method: 'POST',
    path: '{fn}/aliases',
    status: 201,
    run: ({ lambda, fn, body }) => {
      refuseUnsupported('CreateAlias', body, ['Name', 'FunctionVersion', 'Description', 'RoutingConfig']);
      const description = optionalString(body, 'Description');
      const additionalVersions = routingConfig(body);
      return aliasJson(
        lambda.createAlias(fn, {
          name: requiredString(body, 'Name'),
          functionVersion: requiredString(body, 'FunctionVersion'),
          ...(description === undefined ? {} : { description }),
          ...(additionalVersions === undefined ? {} : { additionalVersions }),
        }),
      );
    },
  },
  {
    name: 'ListAliases',
    method: 'GET',
    path: '{fn}/aliases',
    status: 200,
    run: ({ lambda, fn, query }) =>
      listed(
        'Aliases',
        lambda.listAliases(fn, query.get('FunctionVersion') ?? undefined).map(aliasJson),
        query,
      ),
  },
  {
    name: 'GetAlias',
    method: 'GET',
    path: '{fn}/aliases/{alias}',
    status: 200,
    run: ({ lambda, fn, alias }) => aliasJson(lambda.getAliasConfiguration(fn, alias)),
  },
  {
    name: 'UpdateAlias',
    method: 'PUT',
    path: '{fn}/aliases/{alias}',
    status: 200,
    run: ({ lambda, fn, alias, body }) => {
      refuseUnsupported('UpdateAlias', body, [
        'FunctionVersion',
        'Description',
        'RoutingConfig',
        'RevisionId',
      ]);
      const functionVersion = optionalString(body, 'FunctionVersion');
      const description = optionalString(body, 'Description');
      const revisionId = optionalString(body, 'RevisionId');
      const additionalVersions = routingConfig(body);
      return aliasJson(
        lambda.updateAlias(fn, alias, {
          ...(functionVersion === undefined ? {} : { functionVersion }),
          ...(description === undefined ? {} : { description }),
          ...(revisionId === undefined ? {} : { revisionId }),
          ...(additionalVersions === undefined ? {} : { additionalVersions }),
        }),
      );
    },
  },
];

/** Answer one Lambda control-plane request. */
export async function lambdaControlApi(
  lambda: LambdaService,
  req: IncomingMessage,
  url: URL,
  respond: Respond,
): Promise<void> {
  const segments = url.pathname.slice(PREFIX.length).split('/');
  const decoded = segments.map(safeDecode);
  if (decoded.some((s) => s === undefined))
    return apiError(
      respond,
      400,
      'InvalidParameterValueException',
      `Invalid percent-encoding in ${url.pathname}`,
    );
  const shape = segments.length === 1 && segments[0] === '' ? '' : shapeOf(segments);
  const operation = OPERATIONS.find((op) => op.path === shape && op.method === req.method);
  if (!operation)
    return apiError(
      respond,
      404,
      'UnknownOperationException',
      `${req.method} ${url.pathname} is not a Lambda operation the local runtime serves (it serves Invoke, ${OPERATIONS.map((o) => o.name).join(', ')})`,
    );
  let body: Body = {};
  if (operation.method !== 'GET') {
    const raw = await readBody(req, MAX_REQUEST_BYTES);
    if (raw === undefined)
      return apiError(
        respond,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the ${operation.name} operation`,
      );
    try {
      const parsed: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('not an object');
      body = parsed as Body;
    } catch {
      return apiError(
        respond,
        400,
        'InvalidRequestContentException',
        'Could not parse request body into json: it must be a JSON object',
      );
    }
  }
  let result: unknown;
  try {
    result = operation.run({
      lambda,
      fn: decoded[0] ?? '',
      alias: decoded[2] ?? '',
      query: url.searchParams,
      body,
    });
  } catch (err) {
    if (err instanceof LambdaApiError) return apiError(respond, err.status, err.name, err.message);
    throw err;
  }
  respond(operation.status, JSON.stringify(result));
}

/** `{fn}`, `{fn}/configuration`, `{fn}/aliases/{alias}` … for the path's segments. */
function shapeOf(segments: readonly string[]): string {
  const [fn, collection, item, ...rest] = segments;
  if (!fn || rest.length > 0) return '?';
  if (collection === undefined) return '{fn}';
  if (item === undefined) return `{fn}/${collection}`;
  return collection === 'aliases' && item !== '' ? '{fn}/aliases/{alias}' : '?';
}

function apiError(respond: Respond, status: number, type: string, message: string): void {
  respond(status, JSON.stringify({ Type: 'User', message }), { 'x-amzn-errortype': type });
}

// ---- answers --------------------------------------------------------------------------------

/** A FunctionConfiguration as the Lambda API answers it. */
export function configurationJson(view: FunctionView): Record<string, unknown> {
  const c = view.config;
  return {
    FunctionName: view.functionName,
    FunctionArn: functionArn(view.functionName, view.arnQualifier),
    Runtime: c.runtime,
    Role: c.role,
    Handler: c.handler,
    CodeSize: c.codeSize,
    Description: c.description,
    Timeout: c.timeoutSeconds,
    MemorySize: c.memorySize,
    LastModified: c.lastModified,
    CodeSha256: c.codeSha256,
    Version: c.version,
    ...(Object.keys(c.variables).length > 0 ? { Environment: { Variables: { ...c.variables } } } : {}),
    RevisionId: c.revisionId,
    // Local changes apply at once: a version is active as soon as it is published, an update
    // successful as soon as it is answered. Waiters return on their first poll.
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Architectures: [...c.architectures],
  };
}

/** An AliasConfiguration as the Lambda API answers it. */
export function aliasJson(alias: AliasEntry): Record<string, unknown> {
  return {
    AliasArn: functionArn(alias.functionName, alias.name),
    Name: alias.name,
    FunctionVersion: alias.version,
    Description: alias.description,
    ...(alias.additionalVersions.length > 0
      ? {
          RoutingConfig: {
            AdditionalVersionWeights: Object.fromEntries(
              alias.additionalVersions.map((a) => [a.version, a.weight]),
            ),
          },
        }
      : {}),
    RevisionId: alias.revisionId,
  };
}

/** One page of `items` (`Marker`/`MaxItems`, default 50 as Lambda pages), with `NextMarker`. */
function listed(key: string, items: readonly unknown[], query: URLSearchParams): Record<string, unknown> {
  const maxText = query.get('MaxItems');
  const max = maxText === null ? 50 : Number(maxText);
  if (!Number.isInteger(max) || max < 1 || max > 10_000)
    throw new InvalidParameterValueException(`MaxItems must be an integer from 1 to 10000 (got ${maxText})`);
  const marker = query.get('Marker');
  let start = 0;
  if (marker !== null) {
    start = Number(Buffer.from(marker, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0 || start > items.length)
      throw new InvalidParameterValueException(`Marker ${JSON.stringify(marker)} is not one this API gave`);
  }
  const end = start + max;
  return {
    [key]: items.slice(start, end),
    ...(end < items.length ? { NextMarker: Buffer.from(String(end)).toString('base64url') } : {}),
  };
}

// ---- reading requests -----------------------------------------------------------------------

/** UpdateFunctionConfiguration fields the local service stores and applies. */
const UPDATABLE = ['Environment', 'Description', 'MemorySize', 'Timeout', 'Handler', 'Runtime', 'Role'];

function configurationUpdate(body: Body): ConfigurationUpdate {
  refuseUnsupported('UpdateFunctionConfiguration', body, [...UPDATABLE, 'RevisionId']);
  const update: { -readonly [K in keyof ConfigurationUpdate]: ConfigurationUpdate[K] } = {};
  if (body.Environment !== undefined && body.Environment !== null)
    update.variables = variablesOf(body.Environment);
  const description = optionalString(body, 'Description');
  if (description !== undefined) update.description = description;
  const memorySize = optionalNumber(body, 'MemorySize');
  if (memorySize !== undefined) update.memorySize = memorySize;
  const timeout = optionalNumber(body, 'Timeout');
  if (timeout !== undefined) update.timeoutSeconds = timeout;
  const handler = optionalString(body, 'Handler');
  if (handler !== undefined) update.handler = handler;
  const runtime = optionalString(body, 'Runtime');
  if (runtime !== undefined) update.runtime = runtime;
  const role = optionalString(body, 'Role');
  if (role !== undefined) update.role = role;
  return update;
}

function variablesOf(environment: unknown): Record<string, string> {
  if (typeof environment !== 'object' || environment === null || Array.isArray(environment))
    throw new InvalidParameterValueException('Environment must be an object: { "Variables": { … } }');
  const variables = (environment as { Variables?: unknown }).Variables;
  if (variables === undefined || variables === null) return {};
  if (typeof variables !== 'object' || Array.isArray(variables))
    throw new InvalidParameterValueException('Environment.Variables must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(variables)) {
    if (typeof v !== 'string')
      throw new InvalidParameterValueException(
        `Environment.Variables.${k} must be a string (got ${typeof v})`,
      );
    out[k] = v;
  }
  return out;
}

/** RoutingConfig as additional versions; undefined when the request leaves it out (unchanged). */
function routingConfig(body: Body): AliasRouting['additionalVersions'] | undefined {
  const routing = body.RoutingConfig;
  if (routing === undefined || routing === null) return undefined;
  if (typeof routing !== 'object' || Array.isArray(routing))
    throw new InvalidParameterValueException(
      'RoutingConfig must be an object: { "AdditionalVersionWeights": { … } }',
    );
  const weights = (routing as { AdditionalVersionWeights?: unknown }).AdditionalVersionWeights;
  if (weights === undefined || weights === null) return [];
  if (typeof weights !== 'object' || Array.isArray(weights))
    throw new InvalidParameterValueException(
      'RoutingConfig.AdditionalVersionWeights must be an object of version → weight',
    );
  return Object.entries(weights).map(([version, weight]) => {
    if (typeof weight !== 'number')
      throw new InvalidParameterValueException(
        `RoutingConfig.AdditionalVersionWeights: the weight of version ${version} must be a number (got ${JSON.stringify(weight)})`,
      );
    return { version, weight };
  });
}

function refuseUnsupported(operation: string, body: Body, supported: readonly string[]): void {
  const unsupported = Object.keys(body).filter((k) => !supported.includes(k) && body[k] !== null);
  if (unsupported.length > 0)
    throw new InvalidParameterValueException(
      `${operation}: ${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not supported by the local Lambda service (it takes ${supported.join(', ')})`,
    );
}

function qualifierOf(query: URLSearchParams): string | undefined {
  const q = query.get('Qualifier');
  if (q === null) return undefined;
  if (!/^(\$LATEST|[a-zA-Z0-9_-]{1,128})$/.test(q))
    throw new InvalidParameterValueException(`Qualifier ${JSON.stringify(q)} is not a version or alias name`);
  return q;
}

function requiredString(body: Body, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined || value.length === 0)
    throw new InvalidParameterValueException(`${key} is required`);
  return value;
}

function optionalString(body: Body, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new InvalidParameterValueException(`${key} must be a string (got ${JSON.stringify(value)})`);
  return value;
}

function optionalNumber(body: Body, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number')
    throw new InvalidParameterValueException(`${key} must be a number (got ${JSON.stringify(value)})`);
  return value;
}
