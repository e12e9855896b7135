// Local stand-in for Step Functions' own service integration: a Task state that starts an
// execution of another state machine (`arn:aws:states:::states:startExecution`), and with `.sync`
// or `.sync:2` waits for it. The child runs on the same local engine, so its history, name
// idempotency and persistence are the engine's; what the task returns and the errors it fails
// with are AWS's: the child's description (`.sync:2` with Input and Output as JSON, `.sync` as
// text), and `States.TaskFailed` carrying that description when the child does not succeed.

import { ExecutionWaitTimedOut } from './errors.ts';
import type { ExecutionDescription } from './execution-store.ts';
import type { StartExecutionInput } from './local-step-functions.ts';
import { TaskError, type TaskIntegration } from './task-handlers.ts';

export const START_EXECUTION = 'arn:aws:states:::states:startExecution';
export const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync';
export const START_EXECUTION_SYNC_2 = 'arn:aws:states:::states:startExecution.sync:2';

/** What the integration uses of the local engine (LocalStepFunctions). */
export interface NestedExecutionEngine {
  startExecution(request: StartExecutionInput): { executionArn: string; startDate: Date };
  waitForExecution(executionArn: string, timeoutMs?: number): Promise<ExecutionDescription>;
  stopExecution(executionArn: string, failure?: { error?: string; cause?: string }): { stopDate: Date };
}

/** How long one wait lasts before it is renewed (setTimeout holds at most ~24.8 days). */
const WAIT_SLICE_MS = 3_600_000;

/**
 * The three `states:startExecution` integrations by Resource ARN. `engine` is called when a task
 * runs, so the integrations can be handed to the engine they start executions on.
 */
export function nestedExecutionIntegrations(
  engine: () => NestedExecutionEngine,
): Record<string, TaskIntegration> {
  return {
    [START_EXECUTION]: async (input, ctx) => {
      const started = start(engine(), input, ctx.stateName);
      return { ExecutionArn: started.executionArn, StartDate: started.startDate.getTime() };
    },
    [START_EXECUTION_SYNC]: (input, ctx) => runToEnd(engine(), input, ctx.stateName, ctx.signal, 'text'),
    [START_EXECUTION_SYNC_2]: (input, ctx) => runToEnd(engine(), input, ctx.stateName, ctx.signal, 'json'),
  };
}

/** The task's Parameters, as StartExecution takes them. */
interface StartParameters {
  readonly StateMachineArn?: unknown;
  readonly Name?: unknown;
  readonly Input?: unknown;
}

/**
 * The optimized integration's error for a StartExecution the API refused: `StepFunctions.` and
 * the SDK's exception name (the API's name with `Exception`), e.g. ExecutionAlreadyExistsException.
 */
function apiError(err: unknown): TaskError {
  const name = (err as Error)?.name ?? 'Error';
  const exception = name.endsWith('Exception') ? name : `${name}Exception`;
  return new TaskError(`StepFunctions.${exception}`, (err as Error)?.message ?? String(err));
}

function start(engine: NestedExecutionEngine, input: unknown, stateName: string) {
  const params = (input ?? {}) as StartParameters;
  if (typeof params.StateMachineArn !== 'string')
    throw new TaskError(
      'StepFunctions.InvalidArnException',
      `Task state ${stateName}: startExecution needs Parameters.StateMachineArn`,
    );
  if (params.Name !== undefined && typeof params.Name !== 'string')
    throw new TaskError(
      'StepFunctions.InvalidNameException',
      `Task state ${stateName}: Name must be a string`,
    );
  // An object is sent as its JSON text, as AWS does; a string is taken as the JSON text itself.
  const text =
    params.Input === undefined
      ? '{}'
      : typeof params.Input === 'string'
        ? params.Input
        : JSON.stringify(params.Input);
  try {
    return engine.startExecution({
      stateMachineArn: params.StateMachineArn,
      input: text,
      ...(params.Name === undefined ? {} : { name: params.Name }),
    });
  } catch (err) {
    throw apiError(err);
  }
}

async function runToEnd(
  engine: NestedExecutionEngine,
  input: unknown,
  stateName: string,
  signal: AbortSignal,
  data: 'json' | 'text',
): Promise<unknown> {
  const { executionArn } = start(engine, input, stateName);
  // The parent stopped: stop the child too, as AWS does for a `.sync` task.
  const stopChild = () => {
    try {
      engine.stopExecution(executionArn, { cause: 'the parent execution was stopped' });
    } catch {
      // already gone: nothing to stop
    }
  };
  signal.addEventListener('abort', stopChild, { once: true });
  try {
    let ended: ExecutionDescription | undefined;
    while (!ended) {
      try {
        ended = await engine.waitForExecution(executionArn, WAIT_SLICE_MS);
      } catch (err) {
        if (!(err instanceof ExecutionWaitTimedOut)) throw err;
      }
    }
    const description = describe(ended, data);
    if (ended.status !== 'SUCCEEDED') throw new TaskError('States.TaskFailed', JSON.stringify(description));
    return description;
  } finally {
    signal.removeEventListener('abort', stopChild);
  }
}

/** DescribeExecution as the task reports it: PascalCase, dates as epoch milliseconds. */
function describe(d: ExecutionDescription, data: 'json' | 'text'): Record<string, unknown> {
  const value = (text: string | undefined) =>
    data === 'json' && text !== undefined ? JSON.parse(text) : text;
  return {
    ExecutionArn: d.executionArn,
    StateMachineArn: d.stateMachineArn,
    Name: d.name,
    Status: d.status,
    StartDate: d.startDate.getTime(),
    ...(d.stopDate ? { StopDate: d.stopDate.getTime() } : {}),
    Input: value(d.input),
    InputDetails: { Included: true },
    ...(d.output === undefined ? {} : { Output: value(d.output), OutputDetails: { Included: true } }),
    ...(d.error === undefined ? {} : { Error: d.error }),
    ...(d.cause === undefined ? {} : { Cause: d.cause }),
  };
}
