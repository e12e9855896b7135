// Turns the library's event log into AWS GetExecutionHistory events (TaskStateEntered,
// LambdaFunctionFailed, ExecutionSucceeded, …) and one log line per state step. Retries show
// as on AWS: another Scheduled/Started pair after a Failed event, within the same state.
import type { StateMachine } from 'aws-local-stepfunctions';
import { DEFAULT_LOCAL_REGION } from '../template/pseudo-parameters.ts';
import type { TaskBinding } from './task-handlers.ts';

/** One event as GetExecutionHistory answers it; details under e.g. `stateEnteredEventDetails`. */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly [details: string]: unknown;
}

/** An event of the library's `eventLogs` (its type is not exported by name). */
export type LibraryEvent =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** The Error and Cause a failed execution reports. */
export interface Failure {
  readonly error?: string;
  readonly cause?: string;
}

/** The library's name and message for a Fail state without Error or Cause: AWS reports none. */
const FAIL_STATE_DEFAULTS = { name: 'FailStateError', message: 'Execution failed because of a Fail state' };

/** `error`/`cause` of a failure as AWS reports them (a Fail state may set neither). */
export function failureOf(name: string, cause: unknown): Failure {
  const text = typeof cause === 'string' ? cause : JSON.stringify(cause);
  return {
    ...(name === FAIL_STATE_DEFAULTS.name ? {} : { error: name }),
    ...(text === FAIL_STATE_DEFAULTS.message || text === undefined ? {} : { cause: text }),
  };
}

/** Append an event with the next id; `previousEventId` is the event before it. */
export function appendEvent(
  events: HistoryEvent[],
  type: string,
  timestamp: number,
  details: Record<string, unknown> = {},
): void {
  const id = events.length + 1;
  events.push({ id, previousEventId: id - 1, timestamp: new Date(timestamp), type, ...details });
}

export interface RecorderOptions {
  /** `StateMachine/execution`, prefixed to log lines. */
  readonly label: string;
  readonly roleArn?: string;
  /** Task state name → how it runs (the Lambda-ARN form has its own event types). */
  readonly tasks: ReadonlyMap<string, TaskBinding>;
  /** Task state name → its latest call: effective input and raw result (for Scheduled/Succeeded). */
  readonly taskCalls: ReadonlyMap<string, { readonly input: unknown; output?: unknown }>;
  readonly log: (line: string) => void;
}

const json = (value: unknown) => JSON.stringify(value ?? null);

/**
 * Payload of a state inside a Map iteration. A Distributed Map's items run as child executions
 * whose events AWS keeps out of the parent's history; serializing every batch's input (hundreds
 * of KB each) into the parent's history cost more than scoring the batch.
 */
const ITERATION_PAYLOAD = JSON.stringify('(inside a Map iteration: not recorded in this history)');
const payload = (value: unknown, index: number | undefined) =>
  index === undefined ? json(value) : ITERATION_PAYLOAD;
const noTruncation = { truncated: false };

/** Records one execution's history into `events` as the library reports its steps. */
export class HistoryRecorder {
  /** What StopExecution said, for the ExecutionAborted event. */
  abortedWith: Failure = {};
  /** `state#index` → when it was entered and whether its last attempt failed. */
  private readonly active = new Map<string, { entered: number; failed: boolean }>();

  constructor(
    readonly events: HistoryEvent[],
    private readonly options: RecorderOptions,
  ) {}

  /**
   * The first event, recorded when StartExecution answers (not when the library gets to it),
   * so the record saved then already has it.
   */
  started(input: string, at: number): void {
    this.add('ExecutionStarted', at, {
      executionStartedEventDetails: {
        input,
        inputDetails: noTruncation,
        ...(this.options.roleArn ? { roleArn: this.options.roleArn } : {}),
      },
    });
  }

  record(event: LibraryEvent): void {
    const at = event.timestamp;
    switch (event.type) {
      case 'ExecutionStarted':
        break; // recorded by started()
      case 'ExecutionSucceeded':
        this.add('ExecutionSucceeded', at, {
          executionSucceededEventDetails: { output: json(event.output), outputDetails: noTruncation },
        });
        break;
      case 'ExecutionFailed':
        this.add('ExecutionFailed', at, {
          executionFailedEventDetails: failureOf(event.Error, event.Cause),
        });
        break;
      case 'ExecutionAborted':
        this.add('ExecutionAborted', at, { executionAbortedEventDetails: this.abortedWith });
        break;
      case 'ExecutionTimeout':
        this.add('ExecutionTimedOut', at, {
          executionTimedOutEventDetails: {
            error: 'States.Timeout',
            cause: 'The execution ran longer than the state machine TimeoutSeconds',
          },
        });
        break;
      case 'StateEntered':
        this.entered(event.state.name, event.state.type, event.state.input, at, event.index);
        break;
      case 'StateFailed':
        this.failed(event.state.name, event.state.type, event.Error, event.Cause, at, event.index);
        break;
      case 'StateRetried': {
        const { name, type } = event.state;
        const max = event.retry.retrier.MaxAttempts ?? 3;
        this.options.log(`${this.options.label} ${name} → retry ${event.retry.attempt}/${max}`);
        const state = this.active.get(key(name, event.index));
        if (state) state.failed = false;
        if (type === 'Task') this.taskStarted(name, at, event.index);
        break;
      }
      case 'StateCaught':
        this.options.log(
          `${this.options.label} ${event.state.name} → caught, next ${event.catch.catcher.Next}`,
        );
        break;
      case 'StateExited':
        this.exited(event.state.name, event.state.type, event.state.output, at, event.index);
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.add(event.type, at, {
          [detailsKeyOf(event.type)]: { name: event.parentState.name, index: event.index },
        });
        break;
      default:
        // Parallel branch events: AWS reports only the Parallel state's own events.
        break;
    }
  }

  private entered(name: string, type: string, input: unknown, at: number, index?: number): void {
    this.active.set(key(name, index), { entered: at, failed: false });
    this.options.log(`${this.options.label} ${name}${iteration(index)} started`);
    this.add(`${type}StateEntered`, at, {
      stateEnteredEventDetails: { name, input: payload(input, index), inputDetails: noTruncation },
    });
    if (type === 'Task') this.taskStarted(name, at, index);
    else if (type === 'Parallel') this.add('ParallelStateStarted', at);
    else if (type === 'Map') this.add('MapStateStarted', at, { mapStateStartedEventDetails: {} });
  }

  private failed(
    name: string,
    type: string,
    error: string,
    cause: unknown,
    at: number,
    index?: number,
  ): void {
    const state = this.active.get(key(name, index));
    if (state) state.failed = true;
    const failure = failureOf(error, cause);
    const took = state ? ` (${seconds(at - state.entered)})` : '';
    const reason = [failure.error, failure.cause && abbreviate(failure.cause)].filter(Boolean).join(': ');
    this.options.log(`${this.options.label} ${name}${iteration(index)} → failed ${reason}${took}`);
    if (type === 'Parallel') this.add('ParallelStateFailed', at);
    else if (type === 'Map') this.add('MapStateFailed', at);
    else if (type === 'Task') {
      const binding = this.options.tasks.get(name);
      const timedOut = error === 'States.Timeout';
      if (binding?.kind === 'lambda') {
        const eventType = timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed';
        this.add(eventType, at, { [detailsKeyOf(eventType)]: failure });
      } else {
        const eventType = timedOut ? 'TaskTimedOut' : 'TaskFailed';
        this.add(eventType, at, { [detailsKeyOf(eventType)]: { ...resourceOf(binding), ...failure } });
      }
    }
  }

  private exited(name: string, type: string, output: unknown, at: number, index?: number): void {
    const state = this.active.get(key(name, index));
    this.active.delete(key(name, index));
    if (!state?.failed) {
      const took = state ? ` ${seconds(at - state.entered)}` : '';
      this.options.log(`${this.options.label} ${name}${iteration(index)} → succeeded${took}`);
      if (type === 'Task') this.taskSucceeded(name, output, at, index);
      else if (type === 'Parallel') this.add('ParallelStateSucceeded', at);
      else if (type === 'Map') this.add('MapStateSucceeded', at);
    }
    this.add(`${type}StateExited`, at, {
      stateExitedEventDetails: { name, output: payload(output, index), outputDetails: noTruncation },
    });
  }

  private taskStarted(name: string, at: number, index?: number): void {
    const binding = this.options.tasks.get(name);
    const input = payload(this.options.taskCalls.get(name)?.input, index);
    if (binding?.kind === 'lambda') {
      this.add('LambdaFunctionScheduled', at, {
        lambdaFunctionScheduledEventDetails: {
          resource: binding.resource,
          input,
          inputDetails: noTruncation,
        },
      });
      this.add('LambdaFunctionStarted', at);
    } else {
      const resource = resourceOf(binding);
      this.add('TaskScheduled', at, {
        taskScheduledEventDetails: { ...resource, region: DEFAULT_LOCAL_REGION, parameters: input },
      });
      this.add('TaskStarted', at, { taskStartedEventDetails: resource });
    }
  }

  private taskSucceeded(name: string, stateOutput: unknown, at: number, index?: number): void {
    const binding = this.options.tasks.get(name);
    const call = this.options.taskCalls.get(name);
    // The raw task result (before ResultSelector/ResultPath), as AWS records it.
    const output = payload(call && 'output' in call ? call.output : stateOutput, index);
    if (binding?.kind === 'lambda')
      this.add('LambdaFunctionSucceeded', at, {
        lambdaFunctionSucceededEventDetails: { output, outputDetails: noTruncation },
      });
    else
      this.add('TaskSucceeded', at, {
        taskSucceededEventDetails: { ...resourceOf(binding), output, outputDetails: noTruncation },
      });
  }

  private add(type: string, at: number, details?: Record<string, unknown>): void {
    appendEvent(this.events, type, at, details);
  }
}

const key = (name: string, index: number | undefined) => `${name}#${index ?? ''}`;
const iteration = (index: number | undefined) => (index === undefined ? '' : `[${index}]`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const abbreviate = (text: string) => (text.length > 200 ? `${text.slice(0, 199)}…` : text);
const detailsKeyOf = (type: string) => `${type[0]?.toLowerCase()}${type.slice(1)}EventDetails`;

/** `arn:aws:states:::sns:publish` → resourceType `sns`, resource `publish`, as AWS splits it. */
function resourceOf(binding: TaskBinding | undefined): { resourceType: string; resource: string } {
  const arn = binding?.resource ?? '';
  const match = /^arn:[^:]+:states:[^:]*:[^:]*:([^:]+):(.+)$/.exec(arn);
  return match?.[1] && match[2]
    ? { resourceType: match[1], resource: match[2] }
    : { resourceType: 'unknown', resource: arn };
}
