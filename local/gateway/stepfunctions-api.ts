// The Step Functions API (AWS JSON 1.0: `POST /` with `x-amz-target: AWSStepFunctions.<Operation>`)
// over the local engine, so `@aws-sdk/client-sfn`, the CLI and functions start and watch
// executions exactly as on AWS. Like the Invoke API, only SigV4-signed requests are served.
import type { IncomingMessage } from 'node:http';
import { InvalidToken, StepFunctionsApiError, ValidationException } from '../stepfunctions/errors.ts';
import type { ExecutionStatus, LocalStepFunctions } from '../stepfunctions/local-step-functions.ts';
import type { Respond } from './invoke-api.ts';
import { header, readBody } from './request.ts';

/** Requests carry at most a 256 KB input plus a few names. */
const MAX_REQUEST_BYTES = 1024 * 1024;
const TARGET_PREFIX = 'AWSStepFunctions.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';

/** True when the request is a Step Functions API call. */
export function isStepFunctionsRequest(req: IncomingMessage): boolean {
  return header(req, 'x-amz-target')?.startsWith(TARGET_PREFIX) ?? false;
}

type Request = Readonly<Record<string, unknown>>;
type Operation = (engine: LocalStepFunctions, request: Request) => unknown;

const STATUSES = new Set<string>(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

const OPERATIONS: Readonly<Record<string, Operation>> = {
  StartExecution: (engine, r) =>
    engine.startExecution({
      stateMachineArn: requiredString(r, 'stateMachineArn'),
      ...optionalString(r, 'name', 'name'),
      ...optionalString(r, 'input', 'input'),
    }),
  DescribeExecution: (engine, r) => engine.describeExecution(requiredString(r, 'executionArn')),
  StopExecution: (engine, r) =>
    engine.stopExecution(requiredString(r, 'executionArn'), {
      ...optionalString(r, 'error', 'error'),
      ...optionalString(r, 'cause', 'cause'),
    }),
  GetExecutionHistory: (engine, r) => {
    const events = engine.getExecutionHistory(requiredString(r, 'executionArn'));
    const ordered = r.reverseOrder === true ? events.reverse() : events;
    const withData = r.includeExecutionData === false ? ordered.map(withoutData) : ordered;
    const { items, nextToken } = page(withData, r);
    return { events: items, ...(nextToken ? { nextToken } : {}) };
  },
  ListExecutions: (engine, r) => {
    const status = optionalString(r, 'statusFilter', 'statusFilter').statusFilter;
    if (status !== undefined && !STATUSES.has(status))
      throw new ValidationException(`statusFilter must be one of ${[...STATUSES].join(', ')}`);
    const executions = engine
      .listExecutions(requiredString(r, 'stateMachineArn'), status as ExecutionStatus | undefined)
      .map(({ executionArn, stateMachineArn, name, status, startDate, stopDate }) => ({
        executionArn,
        stateMachineArn,
        name,
        status,
        startDate,
        ...(stopDate ? { stopDate } : {}),
      }));
    const { items, nextToken } = page(executions, r);
    return { executions: items, ...(nextToken ? { nextToken } : {}) };
  },
  ListStateMachines: (engine, r) => {
    const machines = engine.listStateMachines().map(({ stateMachineArn, name, type, creationDate }) => ({
      stateMachineArn,
      name,
      type,
      creationDate,
    }));
    const { items, nextToken } = page(machines, r);
    return { stateMachines: items, ...(nextToken ? { nextToken } : {}) };
  },
  DescribeStateMachine: (engine, r) => engine.describeStateMachine(requiredString(r, 'stateMachineArn')),
};

/** Answer one Step Functions API request. */
export async function stepFunctionsApi(
  engine: LocalStepFunctions,
  req: IncomingMessage,
  respond: Respond,
): Promise<void> {
  if (!header(req, 'authorization')?.startsWith('AWS4-HMAC-SHA256'))
    return apiError(respond, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const name = (header(req, 'x-amz-target') ?? '').slice(TARGET_PREFIX.length);
  const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (req.method !== 'POST' || !operation)
    return apiError(
      respond,
      400,
      'UnknownOperationException',
      `${name} is not an operation the local runtime serves`,
    );
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (body === undefined)
    return apiError(
      respond,
      413,
      'RequestEntityTooLargeException',
      `Request must be smaller than ${MAX_REQUEST_BYTES} bytes`,
    );
  let request: unknown;
  try {
    request = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return apiError(respond, 400, 'SerializationException', 'The request body is not valid JSON');
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request))
    return apiError(respond, 400, 'SerializationException', 'The request body must be a JSON object');
  let result: unknown;
  try {
    result = operation(engine, request as Request);
  } catch (err) {
    if (err instanceof StepFunctionsApiError) return apiError(respond, 400, err.name, err.message);
    throw err;
  }
  respond(200, JSON.stringify(result, epochSeconds), { 'content-type': CONTENT_TYPE });
}

function apiError(respond: Respond, status: number, type: string, message: string): void {
  respond(status, JSON.stringify({ __type: type, message }), {
    'content-type': CONTENT_TYPE,
    'x-amzn-errortype': type,
  });
}

/**
 * JSON.stringify replacer: dates as epoch seconds, as this protocol sends timestamps. (Date's
 * toJSON runs before the replacer sees the value, so the original is read from the holder.)
 */
function epochSeconds(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Date ? original.getTime() / 1000 : value;
}

function requiredString(r: Request, key: string): string {
  const value = r[key];
  if (typeof value !== 'string' || value.length === 0)
    throw new ValidationException(
      `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

function optionalString<K extends string>(r: Request, key: string, as: K): Partial<Record<K, string>> {
  const value = r[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') throw new ValidationException(`Value at '${key}' must be a string`);
  return { [as]: value } as Partial<Record<K, string>>;
}

/** The page `nextToken`/`maxResults` ask for; the token is the offset of the next item. */
function page<T>(all: readonly T[], r: Request): { items: T[]; nextToken?: string } {
  const max = r.maxResults === undefined || r.maxResults === 0 ? 100 : Number(r.maxResults);
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw new ValidationException('maxResults must be an integer from 0 to 1000');
  let start = 0;
  if (r.nextToken !== undefined && r.nextToken !== null) {
    start = Number(Buffer.from(String(r.nextToken), 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0 || start > all.length)
      throw new InvalidToken(`Invalid Token: '${String(r.nextToken)}'`);
  }
  const end = start + max;
  return {
    items: all.slice(start, end),
    ...(end < all.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}),
  };
}

/** An event without its input and output (GetExecutionHistory with includeExecutionData false). */
function withoutData<T extends object>(event: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object') {
      const {
        input: _input,
        output: _output,
        parameters: _parameters,
        ...rest
      } = v as Record<string, unknown>;
      out[k] = rest;
    } else out[k] = v;
  }
  return out as T;
}
