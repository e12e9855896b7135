// What a Task state's Resource runs locally, and the errors it fails with: the names and
// causes AWS gives, since they are what Retry and Catch match on.
import { FunctionError } from '../lambda/function-runtime.ts';
import { parseFunctionRef, ResourceNotFound, TooManyRequestsException } from '../lambda/lambda-service.ts';

/** Run a local Lambda function synchronously; resolves with its result, rejects as LambdaService does. */
export type InvokeLambda = (ref: string, event: unknown) => Promise<unknown>;

/** What a task integration knows about the task it runs. */
export interface TaskContext {
  readonly stateMachineName: string;
  readonly executionName: string;
  readonly executionArn: string;
  readonly stateName: string;
  /** The state machine's resolved DefinitionSubstitutions (e.g. the ARN of a function it names). */
  readonly definitionSubstitutions: Readonly<Record<string, string>>;
  /** Aborted when the execution stops (StopExecution or the platform stopping). */
  readonly signal: AbortSignal;
  readonly invokeLambda: InvokeLambda;
  readonly log: (line: string) => void;
}

/**
 * Runs one service-integration Resource (e.g. `arn:aws:states:::sns:publish`) with the task's
 * effective input (after InputPath and Parameters); what it resolves with is the task's result.
 * Throw an Error whose `name` is the ASL error (e.g. `SageMaker.AmazonSageMakerException`).
 */
export type TaskIntegration = (input: unknown, ctx: TaskContext) => Promise<unknown>;

/** The optimized Lambda integration. */
export const LAMBDA_INVOKE_RESOURCE = 'arn:aws:states:::lambda:invoke';

/** How a Task state's Resource runs here. */
export type TaskBinding =
  /** `arn:aws:lambda:…:function:name[:qualifier]`: the raw function result. */
  | { readonly kind: 'lambda'; readonly resource: string }
  | { readonly kind: 'integration'; readonly resource: string; readonly run: TaskIntegration }
  | { readonly kind: 'not-emulated'; readonly resource: string };

const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[^:]*:\d*:function:[^:]+(?::[^:]+)?$/;

/** The binding of `resource`; `integrations` by exact ARN, the caller's over the built-in ones. */
export function bindTask(
  resource: string,
  integrations: Readonly<Record<string, TaskIntegration>>,
): TaskBinding {
  if (LAMBDA_ARN.test(resource)) return { kind: 'lambda', resource };
  const run = Object.hasOwn(integrations, resource)
    ? integrations[resource]
    : Object.hasOwn(BUILT_IN, resource)
      ? BUILT_IN[resource]
      : undefined;
  return run ? { kind: 'integration', resource, run } : { kind: 'not-emulated', resource };
}

/** Run the task; every failure becomes a TaskError (or NotEmulatedTask) with AWS's error name. */
export async function runTask(binding: TaskBinding, input: unknown, ctx: TaskContext): Promise<unknown> {
  switch (binding.kind) {
    case 'lambda':
      return ctx.invokeLambda(binding.resource, input).catch((err: unknown) => {
        throw lambdaTaskError(err);
      });
    case 'integration':
      return binding.run(input, ctx).catch((err: unknown) => {
        throw err instanceof TaskError || err instanceof NotEmulatedTask ? err : asTaskError(err);
      });
    case 'not-emulated':
      throw new NotEmulatedTask(
        `Task state ${ctx.stateName} calls ${binding.resource}, which the local runtime does not emulate (see the start-up report)`,
      );
  }
}

/**
 * A task failure as ASL sees it: `name` is the `Error` Retry and Catch match, `message` the
 * `Cause`. (No `cause` property: the library would put it in the history instead of the message.)
 */
export class TaskError extends Error {
  constructor(errorName: string, cause: string) {
    super(cause);
    this.name = errorName;
  }
}

/**
 * A Task whose Resource has no local counterpart: `States.Runtime`, which (as on AWS) no Retry
 * or Catch handles, so the execution fails at once naming the resource.
 */
export class NotEmulatedTask extends Error {
  override readonly name = 'States.Runtime';
  /** Read by the library's Retry and Catch matching. */
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/**
 * A failed local Lambda invocation as Step Functions reports it: a handler error by its
 * `errorType` with `{"errorType","errorMessage"}` as cause; Lambda service errors as `Lambda.<Exception>`.
 */
export function lambdaTaskError(err: unknown): TaskError {
  if (err instanceof FunctionError) {
    const { errorType, errorMessage } = err.payload;
    return new TaskError(errorType, JSON.stringify({ errorType, errorMessage }));
  }
  if (err instanceof ResourceNotFound)
    return lambdaServiceError('ResourceNotFoundException', 404, err.message);
  if (err instanceof TooManyRequestsException)
    return lambdaServiceError('TooManyRequestsException', 429, err.message);
  return lambdaServiceError('ServiceException', 500, (err as Error)?.message ?? String(err));
}

function lambdaServiceError(code: string, status: number, message: string): TaskError {
  return new TaskError(
    `Lambda.${code}`,
    `${message} (Service: AWSLambda; Status Code: ${status}; Error Code: ${code})`,
  );
}

function asTaskError(err: unknown): TaskError {
  if (err instanceof Error) return new TaskError(err.name, err.message);
  return new TaskError('States.TaskFailed', String(err));
}

/** `arn:aws:states:::lambda:invoke`: the function's result wrapped as the Invoke API answers it. */
const lambdaInvoke: TaskIntegration = async (input, ctx) => {
  const params = (input ?? {}) as {
    FunctionName?: unknown;
    Payload?: unknown;
    Qualifier?: unknown;
    InvocationType?: unknown;
  };
  if (typeof params.FunctionName !== 'string')
    throw new TaskError(
      'Lambda.InvalidParameterValueException',
      'lambda:invoke needs Parameters.FunctionName',
    );
  const ref =
    typeof params.Qualifier === 'string' ? `${params.FunctionName}:${params.Qualifier}` : params.FunctionName;
  const payload = params.Payload ?? {};
  if (params.InvocationType === 'Event') {
    ctx.invokeLambda(ref, payload).catch(() => undefined); // failures land in the function's log
    return { StatusCode: 202, Payload: '' };
  }
  const result = await ctx.invokeLambda(ref, payload).catch((err: unknown) => {
    throw lambdaTaskError(err);
  });
  // The invoker answers the result only: a numbered qualifier is the version that ran, an alias
  // is reported as $LATEST.
  const qualifier = parseFunctionRef(ref).qualifier;
  const executedVersion = qualifier && /^\d+$/.test(qualifier) ? qualifier : '$LATEST';
  return { ExecutedVersion: executedVersion, Payload: result ?? null, StatusCode: 200 };
};

const BUILT_IN: Readonly<Record<string, TaskIntegration>> = { [LAMBDA_INVOKE_RESOURCE]: lambdaInvoke };
