// Drives one execution through aws-local-stepfunctions: the per-run task overrides (by state
// name), retry-delay overrides and context object, the history as it happens, and how it ended.
import './promise-with-resolvers.ts';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type StateMachine,
} from 'aws-local-stepfunctions';
import { ITEM_READER_CONTEXT_KEY } from './distributed-map.ts';
import { type Failure, failureOf, type HistoryEvent, HistoryRecorder } from './execution-history.ts';
import type { ExecutionStatus } from './execution-store.ts';
import type { ItemReaderStore } from './item-reader.ts';
import { type InvokeLambda, runTask, type TaskBinding, type TaskContext } from './task-handlers.ts';
import type { StateMachineSpec } from './template-state-machines.ts';

/** A state machine ready to run: validated once, its Task states bound. */
export interface RunnableMachine {
  readonly spec: StateMachineSpec;
  readonly runner: StateMachine;
  /** Task state name → how its Resource runs. */
  readonly tasks: ReadonlyMap<string, TaskBinding>;
  /** States with a Retry field (for the retry-delay override). */
  readonly retrying: readonly string[];
  /** Where Distributed Map items wait for their Map, per execution; absent when it has none. */
  readonly itemReaders?: ItemReaderStore;
}

/** What a run needs from the engine. */
export interface RunSettings {
  readonly invokeLambda: InvokeLambda;
  readonly log: (line: string) => void;
  /** Pause before every retry in ms; absent: the ASL's own intervals. */
  readonly retryDelayMs?: number;
}

/** Who the execution is (for the context object, task contexts and log lines). */
export interface RunIdentity {
  readonly executionArn: string;
  readonly name: string;
  readonly startDate: Date;
  /** JSON text of the input. */
  readonly input: string;
}

/** How a run ended: SUCCEEDED with its output, or another status with Error and Cause. */
export type RunOutcome =
  | { readonly status: 'SUCCEEDED'; readonly output: string }
  | { readonly status: Exclude<ExecutionStatus, 'RUNNING' | 'SUCCEEDED'>; readonly failure: Failure };

export interface RunningExecution {
  /** Abort the run; `failure` is what the ExecutionAborted event reports. */
  stop(failure: Failure): void;
  /** Settles once the run has ended and its history is complete. */
  readonly outcome: Promise<RunOutcome>;
}

/** Start a run of `machine` on `input`, appending its history to `events` as it goes. */
export function startRun(
  machine: RunnableMachine,
  who: RunIdentity,
  input: unknown,
  events: HistoryEvent[],
  settings: RunSettings,
): RunningExecution {
  const { spec } = machine;
  const label = `[sfn] ${spec.name}/${who.name}`;
  const controller = new AbortController();
  const taskCalls = new Map<string, { input: unknown; output?: unknown }>();
  const handlers: Record<string, (input: unknown) => Promise<never>> = {};
  for (const [stateName, binding] of machine.tasks) {
    const context: TaskContext = {
      stateMachineName: spec.name,
      executionName: who.name,
      executionArn: who.executionArn,
      stateName,
      definitionSubstitutions: spec.substitutions ?? {},
      signal: controller.signal,
      invokeLambda: settings.invokeLambda,
      log: settings.log,
    };
    handlers[stateName] = async (taskInput) => {
      // Kept for the history: the library reports neither a task's effective input nor its raw result.
      const call: { input: unknown; output?: unknown } = { input: taskInput };
      taskCalls.set(stateName, call);
      // A Distributed Map item parked by reference is looked up only now (item-reader.ts).
      const effective = machine.itemReaders
        ? machine.itemReaders.resolve(who.executionArn, taskInput)
        : taskInput;
      call.output = await runTask(binding, effective, context);
      return call.output as never;
    };
  }
  const recorder = new HistoryRecorder(events, {
    label,
    ...(spec.roleArn ? { roleArn: spec.roleArn } : {}),
    tasks: machine.tasks,
    taskCalls,
    log: settings.log,
  });
  recorder.started(who.input, who.startDate.getTime());
  settings.log(`${label} started`);
  const { retryDelayMs } = settings;
  const running = machine.runner.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      ...(retryDelayMs === undefined
        ? {}
        : { retryIntervalOverrides: Object.fromEntries(machine.retrying.map((s) => [s, retryDelayMs])) }),
    },
    context: {
      // One slot per execution, shared by reference with nested Map and Parallel runs.
      ...(machine.itemReaders
        ? { [ITEM_READER_CONTEXT_KEY]: machine.itemReaders.open(who.executionArn) }
        : {}),
      Execution: {
        Id: who.executionArn,
        Name: who.name,
        RoleArn: spec.roleArn ?? '',
        StartTime: who.startDate.toISOString(),
      },
      StateMachine: { Id: spec.arn, Name: spec.name },
    },
  });
  const history = (async () => {
    for await (const event of running.eventLogs) recorder.record(event);
  })();
  return {
    stop(failure) {
      recorder.abortedWith = failure;
      controller.abort();
      running.abort();
    },
    outcome: Promise.allSettled([running.result, history])
      .then(
        ([result]): RunOutcome =>
          result.status === 'fulfilled'
            ? { status: 'SUCCEEDED', output: JSON.stringify(result.value) }
            : outcomeOf(result.reason),
      )
      .finally(() => machine.itemReaders?.release(who.executionArn)),
  };
}

/** How a rejected run ended, with the Error and Cause AWS would report. */
function outcomeOf(reason: unknown): RunOutcome {
  if (reason instanceof ExecutionAbortedError) return { status: 'ABORTED', failure: {} };
  if (reason instanceof ExecutionTimeoutError)
    return {
      status: 'TIMED_OUT',
      failure: {
        error: 'States.Timeout',
        cause: 'The execution ran longer than the state machine TimeoutSeconds',
      },
    };
  const err = (reason instanceof ExecutionError ? reason.cause : reason) as Error | undefined;
  return { status: 'FAILED', failure: failureOf(err?.name ?? 'States.Runtime', err?.message ?? String(err)) };
}
