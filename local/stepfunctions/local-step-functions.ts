// The local Step Functions service: the template's state machines, each validated once and
// run by aws-local-stepfunctions with its Task states mapped to local functions and
// integrations; executions with AWS's naming, idempotency, statuses and history, kept on disk.
import './promise-with-resolvers.ts';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { executionArn, parseExecutionArn, parseStateMachineArn } from './arns.ts';
import { type AslMachine, allStates, withLocalTimeouts } from './asl.ts';
import { localDistributedMaps } from './distributed-map.ts';
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionWaitTimedOut,
  InvalidArn,
  InvalidDefinition,
  InvalidExecutionInput,
  InvalidName,
  StateMachineDoesNotExist,
} from './errors.ts';
import { appendEvent, type Failure, type HistoryEvent } from './execution-history.ts';
import { type RunnableMachine, startRun } from './execution-runner.ts';
import {
  type ExecutionDescription,
  type ExecutionRecord,
  type ExecutionStatus,
  ExecutionStore,
} from './execution-store.ts';
import { ItemReaderStore, itemReaderTask, type ReadItems } from './item-reader.ts';
import { bindTask, type InvokeLambda, type TaskBinding, type TaskIntegration } from './task-handlers.ts';
import type { StateMachineSpec } from './template-state-machines.ts';

export type { HistoryEvent } from './execution-history.ts';
export type { ExecutionDescription, ExecutionStatus } from './execution-store.ts';

export interface LocalStepFunctionsOptions {
  /** Runs the Lambda-ARN and `lambda:invoke` tasks. */
  readonly invokeLambda: InvokeLambda;
  /** One line per state step and execution end. */
  readonly log: (line: string) => void;
  /** Execution records go to `<dataDir>/stepfunctions/`. */
  readonly dataDir: string;
  /**
   * Pause before every retry, in ms, instead of the ASL's IntervalSeconds/BackoffRate (tests).
   * @default the ASL's own intervals, with its jitter
   */
  readonly retryDelayMs?: number;
  /**
   * Service integrations by exact Resource ARN (e.g. `arn:aws:states:::sns:publish`); these
   * win over the built-in ones. A Resource that is neither a Lambda ARN nor here is reported
   * and fails with `States.Runtime` when reached.
   */
  readonly integrations?: Readonly<Record<string, TaskIntegration>>;
  /**
   * Reads a Distributed Map's items (its ItemReader: `arn:aws:states:::s3:getObject` with
   * InputType CSV, JSONL or JSON). Absent: such a Map fails with States.Runtime when reached.
   */
  readonly readItems?: ReadItems;
  /** Told when executions start and end (local CloudWatch: the AWS/States metrics). */
  readonly metrics?: ExecutionMetricsSink;
}

/** Receives execution starts and ends, by state machine ARN. */
export interface ExecutionMetricsSink {
  onExecutionStarted(stateMachineArn: string): void;
  onExecutionEnded(stateMachineArn: string, status: ExecutionStatus, durationMs: number): void;
}

/** A state machine as DescribeStateMachine answers it. */
export interface StateMachineDescription {
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: 'ACTIVE';
  readonly type: 'STANDARD' | 'EXPRESS';
  readonly definition: string;
  readonly roleArn?: string;
  readonly creationDate: Date;
}

/** StartExecution's request. */
export interface StartExecutionInput {
  readonly stateMachineArn: string;
  /** @default a UUID */
  readonly name?: string;
  /** JSON text. @default "{}" */
  readonly input?: string;
}

/** Step Functions' limit on execution input (and state data). */
export const MAX_INPUT_BYTES = 256 * 1024;

const PLATFORM_STOPPED = 'the local platform stopped during this execution';

interface Machine extends RunnableMachine {
  readonly creationDate: Date;
}

interface Execution {
  readonly machine: Machine;
  description: ExecutionDescription;
  readonly events: HistoryEvent[];
  /** Settles once the execution has ended and its record is saved. */
  done: Promise<void>;
  /** Abort a running execution with what StopExecution said. */
  stop?: (failure: Failure) => void;
}

/** The local Step Functions engine; the API in local/gateway/stepfunctions-api.ts serves it. */
export class LocalStepFunctions {
  private readonly machines = new Map<string, Machine>();
  private readonly executions = new Map<string, Execution>();
  private readonly store: ExecutionStore;
  private closed = false;

  constructor(private readonly options: LocalStepFunctionsOptions) {
    this.store = new ExecutionStore(join(options.dataDir, 'stepfunctions'));
  }

  /**
   * Validate and register a state machine (once: validation is the expensive part), and load
   * its stored executions; one left RUNNING by an earlier process is recorded as ABORTED.
   * Returns a warning per Task state whose Resource is not emulated.
   * Throws InvalidDefinition when the ASL does not parse or validate.
   */
  addStateMachine(spec: StateMachineSpec): string[] {
    if (this.machines.has(spec.name))
      throw new InvalidDefinition(`state machine ${spec.name} is defined twice`);
    let definition: AslMachine;
    try {
      definition = JSON.parse(spec.definition) as AslMachine;
    } catch (err) {
      throw new InvalidDefinition(`${spec.logicalId}: the definition is not JSON: ${(err as Error).message}`);
    }
    // Distributed Maps run as an inserted reader Task plus an inline Map (distributed-map.ts).
    const local = localDistributedMaps(definition);
    let runner: StateMachine;
    try {
      runner = new StateMachine(withLocalTimeouts(local.machine) as never);
    } catch (err) {
      throw new InvalidDefinition(`${spec.logicalId}: ${(err as Error).message}`);
    }
    const integrations = this.options.integrations ?? {};
    const tasks = new Map<string, TaskBinding>();
    const retrying: string[] = [];
    const label = `${spec.logicalId} (state machine ${spec.name})`;
    const warnings = local.warnings.map((warning) => `${label}: ${warning}`);
    const itemReaders = local.readers.size > 0 ? new ItemReaderStore() : undefined;
    for (const [stateName, state] of allStates(local.machine)) {
      if (state.Retry) retrying.push(stateName);
      if (state.Type !== 'Task' || typeof state.Resource !== 'string') continue;
      const reader = local.readers.get(stateName);
      if (reader && itemReaders) {
        const run = itemReaderTask(reader, { store: itemReaders, readItems: this.options.readItems });
        tasks.set(stateName, { kind: 'integration', resource: reader.resource, run });
        continue;
      }
      const binding = bindTask(state.Resource, integrations);
      tasks.set(stateName, binding);
      if (binding.kind === 'not-emulated')
        warnings.push(
          `${label}: Task state ${stateName} calls ${state.Resource}, ` +
            'which is not emulated locally; the task fails with States.Runtime when reached',
        );
    }
    const machine: Machine = {
      spec,
      runner,
      tasks,
      retrying,
      creationDate: new Date(),
      ...(itemReaders ? { itemReaders } : {}),
    };
    this.machines.set(spec.name, machine);
    this.loadExecutions(machine);
    return warnings;
  }

  listStateMachines(): StateMachineDescription[] {
    return [...this.machines.values()].map(describeMachine);
  }

  describeStateMachine(stateMachineArn: string): StateMachineDescription {
    return describeMachine(this.machineOf(stateMachineArn));
  }

  /**
   * Start an execution; it runs in the background. As on AWS, a name is used once per state
   * machine: the same name and input while it is RUNNING returns that execution again, anything
   * else is ExecutionAlreadyExists.
   */
  startExecution(request: StartExecutionInput): { executionArn: string; startDate: Date } {
    if (this.closed) throw new Error('the local Step Functions engine is stopped');
    const machine = this.machineOf(request.stateMachineArn);
    const name = request.name ?? randomUUID();
    checkExecutionName(name);
    const input = request.input ?? '{}';
    const inputValue = parseInput(input);
    const arn = executionArn(machine.spec.name, name);
    const existing = this.executions.get(arn);
    if (existing) {
      const { description } = existing;
      if (description.status === 'RUNNING' && description.input === input)
        return { executionArn: arn, startDate: description.startDate };
      throw new ExecutionAlreadyExists(`Execution Already Exists: '${arn}'`);
    }
    const execution: Execution = {
      machine,
      description: {
        executionArn: arn,
        stateMachineArn: machine.spec.arn,
        name,
        status: 'RUNNING',
        startDate: new Date(),
        input,
      },
      events: [],
      done: Promise.resolve(),
    };
    this.executions.set(arn, execution);
    this.run(execution, inputValue);
    this.save(execution);
    this.options.metrics?.onExecutionStarted(machine.spec.arn);
    return { executionArn: arn, startDate: execution.description.startDate };
  }

  describeExecution(executionArn: string): ExecutionDescription {
    return { ...this.executionOf(executionArn).description };
  }

  /** Abort a RUNNING execution; one that has ended is left as it is. */
  stopExecution(executionArn: string, failure: Failure = {}): { stopDate: Date } {
    const execution = this.executionOf(executionArn);
    if (execution.description.status === 'RUNNING') {
      this.end(execution, 'ABORTED', failure);
      execution.stop?.(failure);
    }
    return { stopDate: execution.description.stopDate ?? new Date() };
  }

  /** The history so far, oldest first. */
  getExecutionHistory(executionArn: string): HistoryEvent[] {
    return [...this.executionOf(executionArn).events];
  }

  /** The state machine's executions, newest first. */
  listExecutions(stateMachineArn: string, statusFilter?: ExecutionStatus): ExecutionDescription[] {
    const machine = this.machineOf(stateMachineArn);
    return [...this.executions.values()]
      .filter((e) => e.machine === machine && (!statusFilter || e.description.status === statusFilter))
      .map((e) => ({ ...e.description }))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  /** Resolves with the description once the execution has ended; ExecutionWaitTimedOut after `timeoutMs`. */
  async waitForExecution(executionArn: string, timeoutMs = 60_000): Promise<ExecutionDescription> {
    const execution = this.executionOf(executionArn);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ExecutionWaitTimedOut(`execution ${executionArn} is still RUNNING after ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([execution.done, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    return { ...execution.description };
  }

  /** Abort what still runs (recorded as stopped by the platform) and refuse new executions. */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.executions.values()].filter((e) => e.description.status === 'RUNNING');
    for (const execution of running)
      this.stopExecution(execution.description.executionArn, { cause: PLATFORM_STOPPED });
    await Promise.allSettled(running.map((e) => e.done));
  }

  private run(execution: Execution, input: unknown): void {
    const running = startRun(execution.machine, execution.description, input, execution.events, this.options);
    execution.stop = running.stop;
    execution.done = running.outcome.then((outcome) => {
      execution.stop = undefined;
      if (execution.description.status !== 'RUNNING')
        this.save(execution); // stopped: the history grew since
      else if (outcome.status === 'SUCCEEDED') this.end(execution, 'SUCCEEDED', {}, outcome.output);
      else this.end(execution, outcome.status, outcome.failure);
    });
  }

  /**
   * Record the end of an execution, save it and log one line. `restored`: an execution an earlier
   * process left RUNNING, closed at load; it ended nothing now, so no metric counts it.
   */
  private end(
    execution: Execution,
    status: ExecutionStatus,
    failure: Failure,
    output?: string,
    restored = false,
  ): void {
    const stopDate = new Date();
    execution.description = {
      ...execution.description,
      status,
      stopDate,
      ...(output === undefined ? {} : { output }),
      ...failure,
    };
    this.save(execution);
    const { description } = execution;
    const tookMs = stopDate.getTime() - description.startDate.getTime();
    if (!restored) this.options.metrics?.onExecutionEnded(description.stateMachineArn, status, tookMs);
    const took = (tookMs / 1000).toFixed(1);
    const reason = [failure.error, failure.cause].filter(Boolean).join(': ');
    this.options.log(
      `[sfn] ${execution.machine.spec.name}/${description.name} → ${status}${reason ? ` ${reason}` : ''} in ${took} s`,
    );
  }

  private save(execution: Execution): void {
    const record: ExecutionRecord = {
      stateMachineName: execution.machine.spec.name,
      description: execution.description,
      events: execution.events,
    };
    this.store.save(record);
  }

  private loadExecutions(machine: Machine): void {
    const records = this.store.load(machine.spec.name, (file, reason) =>
      this.options.log(`[sfn] skipped ${file}: ${reason}`),
    );
    for (const record of records) {
      const execution: Execution = {
        machine,
        description: record.description,
        events: [...record.events],
        done: Promise.resolve(),
      };
      this.executions.set(record.description.executionArn, execution);
      if (record.description.status !== 'RUNNING') continue;
      const failure = { cause: PLATFORM_STOPPED };
      appendEvent(execution.events, 'ExecutionAborted', Date.now(), {
        executionAbortedEventDetails: failure,
      });
      this.end(execution, 'ABORTED', failure, undefined, true);
    }
  }

  private machineOf(stateMachineArn: string): Machine {
    const name = parseStateMachineArn(stateMachineArn);
    if (name === undefined) throw new InvalidArn(`Invalid Arn: '${stateMachineArn}'`);
    const machine = this.machines.get(name);
    if (!machine) throw new StateMachineDoesNotExist(`State Machine Does Not Exist: '${stateMachineArn}'`);
    return machine;
  }

  private executionOf(arn: string): Execution {
    if (!parseExecutionArn(arn)) throw new InvalidArn(`Invalid Arn: '${arn}'`);
    const execution = this.executions.get(arn);
    if (!execution) throw new ExecutionDoesNotExist(`Execution Does Not Exist: '${arn}'`);
    return execution;
  }
}

function describeMachine(machine: Machine): StateMachineDescription {
  const { spec } = machine;
  return {
    stateMachineArn: spec.arn,
    name: spec.name,
    status: 'ACTIVE',
    type: spec.type,
    definition: spec.definition,
    ...(spec.roleArn ? { roleArn: spec.roleArn } : {}),
    creationDate: machine.creationDate,
  };
}

/**
 * AWS's execution name rules: 1–80 characters, none of whitespace, brackets, wildcards,
 * `"#%\^|~`$&,;:/` or control characters.
 */
function checkExecutionName(name: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  const forbidden = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
  if (name.length === 0 || name.length > 80 || forbidden.test(name))
    throw new InvalidName(`Invalid Name: '${name}'`);
}

function parseInput(input: string): unknown {
  if (Buffer.byteLength(input) > MAX_INPUT_BYTES)
    throw new InvalidExecutionInput(
      `Invalid State Machine Execution Input: input exceeds ${MAX_INPUT_BYTES} bytes`,
    );
  try {
    return JSON.parse(input);
  } catch (err) {
    throw new InvalidExecutionInput(`Invalid State Machine Execution Input: '${(err as Error).message}'`);
  }
}
