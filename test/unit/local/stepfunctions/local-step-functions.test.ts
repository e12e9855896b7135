// The local Step Functions engine on small hand-written ASL, with in-memory fakes for the
// Lambda functions a Task calls: results, retries, catches, failures, naming and persistence.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FunctionError } from '../../../../local/lambda/function-runtime.ts';
import {
  parseFunctionRef,
  ResourceNotFound,
  TooManyRequestsException,
} from '../../../../local/lambda/lambda-service.ts';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidDefinition,
  InvalidExecutionInput,
  InvalidName,
  StateMachineDoesNotExist,
} from '../../../../local/stepfunctions/errors.ts';
import type { HistoryEvent } from '../../../../local/stepfunctions/execution-history.ts';
import {
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
} from '../../../../local/stepfunctions/local-step-functions.ts';
import type { StateMachineSpec } from '../../../../local/stepfunctions/template-state-machines.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

type Handler = (event: any) => Promise<unknown>;

/** An engine whose Lambda functions are the given handlers; its log lines are collected. */
function engine(functions: Record<string, Handler>, options: Partial<LocalStepFunctionsOptions> = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'mlops-sfn-'));
  dirs.push(dataDir);
  const lines: string[] = [];
  const calls: Array<{ ref: string; event: unknown }> = [];
  const sfn = new LocalStepFunctions({
    invokeLambda: async (ref, event) => {
      calls.push({ ref, event });
      const handler = functions[parseFunctionRef(ref).name];
      if (!handler) throw new ResourceNotFound(`Function not found: ${ref}`);
      return handler(event);
    },
    log: (line) => lines.push(line),
    dataDir,
    retryDelayMs: 10,
    ...options,
  });
  return { sfn, lines, calls, dataDir };
}

function machine(name: string, definition: object): StateMachineSpec {
  return {
    logicalId: `${name}Machine`,
    name,
    arn: stateMachineArn(name),
    type: 'STANDARD',
    definition: JSON.stringify(definition),
  };
}

const types = (events: HistoryEvent[]) => events.map((e) => e.type);

/** A promise the test settles, to hold a task (and its execution) in RUNNING. */
function gate() {
  let open!: (value: unknown) => void;
  const opened = new Promise((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('LocalStepFunctions task results', () => {
  const echo = { echo: async (event: unknown) => ({ saw: event }) };

  it('returns the raw result of a Lambda-ARN task', async () => {
    const { sfn, calls } = engine(echo);
    sfn.addStateMachine(
      machine('Raw', {
        StartAt: 'Echo',
        States: { Echo: { Type: 'Task', Resource: fnArn('echo'), Parameters: { 'x.$': '$.x' }, End: true } },
      }),
    );
    const { executionArn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Raw'),
      input: '{"x":1}',
    });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({ saw: { x: 1 } });
    expect(calls).toEqual([{ ref: fnArn('echo'), event: { x: 1 } }]);
    const history = sfn.getExecutionHistory(executionArn);
    expect(types(history)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(history[2]).toMatchObject({
      id: 3,
      previousEventId: 2,
      lambdaFunctionScheduledEventDetails: { resource: fnArn('echo'), input: '{"x":1}' },
    });
    expect(history[6]).toMatchObject({ executionSucceededEventDetails: { output: '{"saw":{"x":1}}' } });
  });

  it('wraps the result of lambda:invoke as AWS does', async () => {
    const { sfn } = engine(echo);
    sfn.addStateMachine(
      machine('Wrapped', {
        StartAt: 'Invoke',
        States: {
          Invoke: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: fnArn('echo'), 'Payload.$': '$' },
            End: true,
          },
        },
      }),
    );
    const { executionArn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Wrapped'),
      input: '{"a":2}',
    });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(JSON.parse(done.output ?? '')).toEqual({
      ExecutedVersion: '$LATEST',
      Payload: { saw: { a: 2 } },
      StatusCode: 200,
    });
    expect(sfn.getExecutionHistory(executionArn)).toContainEqual(
      expect.objectContaining({
        type: 'TaskScheduled',
        taskScheduledEventDetails: expect.objectContaining({
          resourceType: 'lambda',
          resource: 'invoke',
          parameters: JSON.stringify({ FunctionName: fnArn('echo'), Payload: { a: 2 } }),
        }),
      }),
    );
  });

  it('runs tasks inside Parallel branches and Map processors', async () => {
    const { sfn } = engine({
      double: async (e: { n: number }) => e.n * 2,
      square: async (e: { n: number }) => e.n * e.n,
    });
    sfn.addStateMachine(
      machine('Fanout', {
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            Branches: [
              {
                StartAt: 'Double',
                States: { Double: { Type: 'Task', Resource: fnArn('double'), End: true } },
              },
              {
                StartAt: 'Each',
                States: {
                  Each: {
                    Type: 'Map',
                    ItemsPath: '$.items',
                    ItemProcessor: {
                      StartAt: 'Square',
                      States: { Square: { Type: 'Task', Resource: fnArn('square'), End: true } },
                    },
                    End: true,
                  },
                },
              },
            ],
            End: true,
          },
        },
      }),
    );
    const { executionArn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Fanout'),
      input: JSON.stringify({ n: 3, items: [{ n: 1 }, { n: 2 }] }),
    });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(JSON.parse(done.output ?? '')).toEqual([6, [1, 4]]);
    const history = types(sfn.getExecutionHistory(executionArn));
    expect(history).toContain('ParallelStateStarted');
    expect(history).toContain('MapIterationSucceeded');
    expect(history.filter((t) => t === 'LambdaFunctionSucceeded')).toHaveLength(3);
  });
});

describe('LocalStepFunctions failures', () => {
  it('retries a throttled Lambda and succeeds, with each attempt in the history', async () => {
    let throttles = 2;
    const { sfn, lines } = engine({
      train: async () => {
        if (throttles-- > 0) throw new TooManyRequestsException('Rate Exceeded.');
        return { trained: true };
      },
    });
    sfn.addStateMachine(
      machine('Retrying', {
        StartAt: 'Train',
        States: {
          Train: {
            Type: 'Task',
            Resource: fnArn('train'),
            Retry: [
              { ErrorEquals: ['Lambda.TooManyRequestsException'], IntervalSeconds: 30, MaxAttempts: 3 },
            ],
            End: true,
          },
        },
      }),
    );
    const started = Date.now();
    const { executionArn } = sfn.startExecution({ stateMachineArn: stateMachineArn('Retrying') });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(Date.now() - started).toBeLessThan(2000); // retryDelayMs, not 30 s
    expect(done.status).toBe('SUCCEEDED');
    const history = sfn.getExecutionHistory(executionArn);
    expect(types(history).filter((t) => t === 'LambdaFunctionScheduled')).toHaveLength(3);
    const failures = history.filter((e) => e.type === 'LambdaFunctionFailed');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({
      lambdaFunctionFailedEventDetails: {
        error: 'Lambda.TooManyRequestsException',
        cause: expect.stringContaining('Rate Exceeded.'),
      },
    });
    expect(lines).toContain(`[sfn] Retrying/${done.name} Train → retry 2/3`);
    expect(lines.at(-1)).toMatch(/Retrying\/.* → SUCCEEDED in \d+\.\d s$/);
  });

  it('catches a function error and hands its Error and Cause to the handler state', async () => {
    const { sfn } = engine({
      validate: async () => {
        throw new FunctionError({ errorType: 'DataValidationFailed', errorMessage: 'no rows' }, 'validate');
      },
    });
    sfn.addStateMachine(
      machine('Catching', {
        StartAt: 'Validate',
        States: {
          Validate: {
            Type: 'Task',
            Resource: fnArn('validate'),
            Catch: [{ ErrorEquals: ['DataValidationFailed'], ResultPath: '$.error', Next: 'Rejected' }],
            End: true,
          },
          Rejected: { Type: 'Pass', End: true },
        },
      }),
    );
    const { executionArn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Catching'),
      input: '{"id":7}',
    });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output ?? '');
    expect(output.id).toBe(7);
    expect(output.error.Error).toBe('DataValidationFailed');
    expect(JSON.parse(output.error.Cause)).toEqual({
      errorType: 'DataValidationFailed',
      errorMessage: 'no rows',
    });
    expect(types(sfn.getExecutionHistory(executionArn))).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('fails with the Error and Cause a Fail state reads from its input', async () => {
    const { sfn } = engine({});
    sfn.addStateMachine(
      machine('Failing', {
        StartAt: 'Stop',
        States: { Stop: { Type: 'Fail', ErrorPath: '$.code', CausePath: '$.why' } },
      }),
    );
    const { executionArn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Failing'),
      input: '{"code":"ModelRejected","why":"AUC 0.51 below 0.7"}',
    });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(done).toMatchObject({ status: 'FAILED', error: 'ModelRejected', cause: 'AUC 0.51 below 0.7' });
    expect(done.stopDate).toBeInstanceOf(Date);
    expect(sfn.getExecutionHistory(executionArn).at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'ModelRejected', cause: 'AUC 0.51 below 0.7' },
    });
  });

  it('reports a Resource it does not emulate and fails the task clearly, past any Catch', async () => {
    const { sfn } = engine({});
    const warnings = sfn.addStateMachine(
      machine('Batchy', {
        StartAt: 'Submit',
        States: {
          Submit: {
            Type: 'Task',
            Resource: 'arn:aws:states:::batch:submitJob.sync',
            Parameters: { JobName: 'x', JobQueue: 'q', JobDefinition: 'd' },
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }],
            End: true,
          },
          Handled: { Type: 'Succeed' },
        },
      }),
    );
    expect(warnings).toEqual([expect.stringMatching(/BatchyMachine.*Batchy.*Submit.*batch:submitJob\.sync/)]);
    const { executionArn } = sfn.startExecution({ stateMachineArn: stateMachineArn('Batchy') });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.cause).toMatch(
      /Submit calls arn:aws:states:::batch:submitJob\.sync, which the local runtime does not emulate/,
    );
  });

  it('fails an unknown function with Lambda.ResourceNotFoundException', async () => {
    const { sfn } = engine({});
    sfn.addStateMachine(
      machine('Missing', {
        StartAt: 'Call',
        States: { Call: { Type: 'Task', Resource: fnArn('nope'), End: true } },
      }),
    );
    const { executionArn } = sfn.startExecution({ stateMachineArn: stateMachineArn('Missing') });
    expect(await sfn.waitForExecution(executionArn, 5000)).toMatchObject({
      status: 'FAILED',
      error: 'Lambda.ResourceNotFoundException',
    });
  });

  it('fails when the definition is not valid ASL', () => {
    const { sfn } = engine({});
    expect(() => sfn.addStateMachine(machine('Broken', { StartAt: 'Nowhere', States: {} }))).toThrow(
      InvalidDefinition,
    );
  });
});

describe('LocalStepFunctions executions', () => {
  const held = gate();
  const { sfn, dataDir } = engine({ hold: () => held.opened.then(() => ({ released: true })) });
  sfn.addStateMachine(
    machine('Held', {
      StartAt: 'Hold',
      States: { Hold: { Type: 'Task', Resource: fnArn('hold'), End: true } },
    }),
  );
  const arn = stateMachineArn('Held');

  it('returns the running execution for the same name and input, and refuses other reuse', async () => {
    const first = sfn.startExecution({ stateMachineArn: arn, name: 'run-1', input: '{"a":1}' });
    const again = sfn.startExecution({ stateMachineArn: arn, name: 'run-1', input: '{"a":1}' });
    expect(again).toEqual(first);
    expect(() => sfn.startExecution({ stateMachineArn: arn, name: 'run-1', input: '{"a":2}' })).toThrow(
      ExecutionAlreadyExists,
    );
    expect(sfn.listExecutions(arn, 'RUNNING').map((e) => e.name)).toEqual(['run-1']);
    held.open(undefined);
    expect((await sfn.waitForExecution(first.executionArn, 5000)).status).toBe('SUCCEEDED');
    expect(() => sfn.startExecution({ stateMachineArn: arn, name: 'run-1', input: '{"a":1}' })).toThrow(
      ExecutionAlreadyExists,
    );
  });

  it('persists each execution under its state machine and name', () => {
    const file = join(dataDir, 'stepfunctions', 'Held', 'run-1.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    expect(record.description).toMatchObject({
      name: 'run-1',
      status: 'SUCCEEDED',
      output: '{"released":true}',
    });
    expect(record.events.at(-1).type).toBe('ExecutionSucceeded');
  });

  it('refuses bad names, bad input and unknown ARNs with the API error names', () => {
    expect(() => sfn.startExecution({ stateMachineArn: arn, name: 'has space' })).toThrow(InvalidName);
    expect(() => sfn.startExecution({ stateMachineArn: arn, input: '{nope' })).toThrow(InvalidExecutionInput);
    expect(() =>
      sfn.startExecution({ stateMachineArn: arn, input: JSON.stringify('x'.repeat(300_000)) }),
    ).toThrow(InvalidExecutionInput);
    expect(() => sfn.startExecution({ stateMachineArn: stateMachineArn('Other') })).toThrow(
      StateMachineDoesNotExist,
    );
    expect(() => sfn.describeExecution(`${arn.replace(':stateMachine:', ':execution:')}:ghost`)).toThrow(
      ExecutionDoesNotExist,
    );
  });

  it('aborts an execution on StopExecution', async () => {
    const stuck = engine({ hang: () => new Promise(() => undefined) });
    stuck.sfn.addStateMachine(
      machine('Stuck', {
        StartAt: 'Hang',
        States: { Hang: { Type: 'Task', Resource: fnArn('hang'), End: true } },
      }),
    );
    const { executionArn } = stuck.sfn.startExecution({
      stateMachineArn: stateMachineArn('Stuck'),
      name: 'hung',
    });
    stuck.sfn.stopExecution(executionArn, { error: 'Operator', cause: 'took too long' });
    expect(stuck.sfn.describeExecution(executionArn)).toMatchObject({
      status: 'ABORTED',
      error: 'Operator',
      cause: 'took too long',
    });
    const done = await stuck.sfn.waitForExecution(executionArn, 5000);
    expect(done.status).toBe('ABORTED');
    expect(stuck.sfn.getExecutionHistory(executionArn).at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator', cause: 'took too long' },
    });
  });

  it('loads earlier executions at start and records one left RUNNING as aborted', async () => {
    const crashed = engine({ hang: () => new Promise(() => undefined) });
    const spec = machine('Crashy', {
      StartAt: 'Hang',
      States: { Hang: { Type: 'Task', Resource: fnArn('hang'), End: true } },
    });
    crashed.sfn.addStateMachine(spec);
    const { executionArn } = crashed.sfn.startExecution({ stateMachineArn: spec.arn, name: 'in-flight' });
    expect(existsSync(join(crashed.dataDir, 'stepfunctions', 'Crashy', 'in-flight.json'))).toBe(true);

    // A new process on the same data folder (the first one never ended its execution).
    const restarted = engine({}, { dataDir: crashed.dataDir });
    restarted.sfn.addStateMachine(spec);
    expect(restarted.sfn.describeExecution(executionArn)).toMatchObject({
      status: 'ABORTED',
      cause: 'the local platform stopped during this execution',
    });
    expect(types(restarted.sfn.getExecutionHistory(executionArn))).toEqual([
      'ExecutionStarted',
      'ExecutionAborted',
    ]);
    expect(restarted.sfn.listExecutions(spec.arn).map((e) => e.name)).toEqual(['in-flight']);
    await crashed.sfn.close();
  });
});
