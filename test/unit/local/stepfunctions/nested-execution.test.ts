// Nested executions on the local engine: a Task state starting another state machine with
// `states:startExecution`, `.sync` and `.sync:2`, answering with AWS's shapes and errors, the
// child named and idempotent like any execution, and stopped with its parent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FunctionError } from '../../../../local/lambda/function-runtime.ts';
import { parseFunctionRef, ResourceNotFound } from '../../../../local/lambda/lambda-service.ts';
import { executionArn, stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import { LocalStepFunctions } from '../../../../local/stepfunctions/local-step-functions.ts';
import {
  nestedExecutionIntegrations,
  START_EXECUTION,
  START_EXECUTION_SYNC,
  START_EXECUTION_SYNC_2,
} from '../../../../local/stepfunctions/nested-execution.ts';
import type { StateMachineSpec } from '../../../../local/stepfunctions/template-state-machines.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/** A promise the test settles, to hold a child in RUNNING. */
function gate() {
  let open!: (value: unknown) => void;
  const opened = new Promise((resolve) => {
    open = resolve;
  });
  return { opened, open };
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

/** An engine with the nested integrations registered on itself, and Lambda functions as handlers. */
function engine(functions: Record<string, (event: any) => Promise<unknown>>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlops-nested-'));
  dirs.push(dataDir);
  const sfn: LocalStepFunctions = new LocalStepFunctions({
    invokeLambda: async (ref, event) => {
      const handler = functions[parseFunctionRef(ref).name];
      if (!handler) throw new ResourceNotFound(`Function not found: ${ref}`);
      return handler(event);
    },
    log: () => undefined,
    dataDir,
    retryDelayMs: 1,
    integrations: nestedExecutionIntegrations(() => sfn),
  });
  return sfn;
}

/** A parent whose one Task calls `resource` on the Child machine; failures are caught into $.error. */
const parent = (name: string, resource: string, parameters: object = {}) =>
  machine(name, {
    StartAt: 'RunChild',
    States: {
      RunChild: {
        Type: 'Task',
        Resource: resource,
        Parameters: { StateMachineArn: stateMachineArn('Child'), 'Input.$': '$.childInput', ...parameters },
        ResultPath: '$.child',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  });

const child = machine('Child', {
  StartAt: 'Work',
  States: {
    Work: { Type: 'Task', Resource: fnArn('work'), End: true },
  },
});

describe('startExecution.sync:2', () => {
  const held = gate();
  const sfn = engine({
    work: async (event: { fail?: string; hold?: boolean }) => {
      if (event.hold) await held.opened;
      if (event.fail)
        throw new FunctionError({ errorType: 'QualityGateFailed', errorMessage: event.fail }, 'work');
      return { version: 7, saw: event };
    },
  });
  sfn.addStateMachine(child);
  sfn.addStateMachine(parent('Parent', START_EXECUTION_SYNC_2, { 'Name.$': '$.childName' }));

  async function runParent(name: string, input: object) {
    const { executionArn: arn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Parent'),
      name,
      input: JSON.stringify(input),
    });
    const done = await sfn.waitForExecution(arn, 10_000);
    return { done, output: JSON.parse(done.output ?? 'null') };
  }

  it('runs the child to its end and returns its description with Input and Output as JSON', async () => {
    const { done, output } = await runParent('p-1', { childName: 'c-1', childInput: { runId: 'r1' } });

    expect(done.status).toBe('SUCCEEDED');
    expect(output.child).toEqual({
      ExecutionArn: executionArn('Child', 'c-1'),
      StateMachineArn: stateMachineArn('Child'),
      Name: 'c-1',
      Status: 'SUCCEEDED',
      StartDate: expect.any(Number),
      StopDate: expect.any(Number),
      Input: { runId: 'r1' },
      InputDetails: { Included: true },
      Output: { version: 7, saw: { runId: 'r1' } },
      OutputDetails: { Included: true },
    });
    expect(sfn.describeExecution(executionArn('Child', 'c-1')).status).toBe('SUCCEEDED');
  });

  it("fails the task with States.TaskFailed carrying the child's error and cause", async () => {
    const { done, output } = await runParent('p-2', { childName: 'c-2', childInput: { fail: 'AUC 0.55' } });

    expect(done.status).toBe('SUCCEEDED');
    expect(output.error.Error).toBe('States.TaskFailed');
    const cause = JSON.parse(output.error.Cause);
    expect(cause).toMatchObject({
      ExecutionArn: executionArn('Child', 'c-2'),
      Status: 'FAILED',
      Error: 'QualityGateFailed',
      Input: { fail: 'AUC 0.55' },
    });
    expect(JSON.parse(cause.Cause)).toEqual({ errorType: 'QualityGateFailed', errorMessage: 'AUC 0.55' });
  });

  it('refuses to start a child under the name of one that has ended', async () => {
    await runParent('p-3', { childName: 'c-3', childInput: {} });

    const { output } = await runParent('p-4', { childName: 'c-3', childInput: {} });

    expect(output.error).toEqual({
      Error: 'StepFunctions.ExecutionAlreadyExistsException',
      Cause: expect.stringContaining(executionArn('Child', 'c-3')),
    });
  });

  it('stops the child when the parent is stopped', async () => {
    const { executionArn: arn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Parent'),
      name: 'p-5',
      input: JSON.stringify({ childName: 'c-5', childInput: { hold: true } }),
    });
    const childArn = executionArn('Child', 'c-5');
    await expect
      .poll(() => sfn.listExecutions(stateMachineArn('Child'), 'RUNNING').map((e) => e.name))
      .toEqual(['c-5']);

    sfn.stopExecution(arn, { cause: 'operator' });

    expect((await sfn.waitForExecution(childArn, 5_000)).status).toBe('ABORTED');
    held.open(undefined);
    expect((await sfn.waitForExecution(arn, 5_000)).status).toBe('ABORTED');
  });
});

describe('startExecution and startExecution.sync', () => {
  const sfn = engine({ work: async (event: unknown) => ({ echoed: event }) });
  sfn.addStateMachine(child);
  sfn.addStateMachine(parent('Fire', START_EXECUTION, { Name: 'fired' }));
  sfn.addStateMachine(parent('Text', START_EXECUTION_SYNC));

  it('starts the child and returns at once with its ARN and start date', async () => {
    const { executionArn: arn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Fire'),
      input: JSON.stringify({ childInput: { a: 1 } }),
    });
    const output = JSON.parse((await sfn.waitForExecution(arn, 5_000)).output ?? 'null');

    expect(output.child).toEqual({
      ExecutionArn: executionArn('Child', 'fired'),
      StartDate: expect.any(Number),
    });
    const fired = await sfn.waitForExecution(executionArn('Child', 'fired'), 5_000);
    expect(JSON.parse(fired.output ?? 'null')).toEqual({ echoed: { a: 1 } });
  });

  it('.sync returns Input and Output as JSON text', async () => {
    const { executionArn: arn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Text'),
      input: JSON.stringify({ childInput: { a: 2 } }),
    });
    const output = JSON.parse((await sfn.waitForExecution(arn, 5_000)).output ?? 'null');

    expect(output.child).toMatchObject({
      Status: 'SUCCEEDED',
      Input: '{"a":2}',
      Output: '{"echoed":{"a":2}}',
    });
  });

  it('fails a start without a state machine ARN, naming the state', async () => {
    sfn.addStateMachine(
      machine('NoArn', {
        StartAt: 'RunChild',
        States: { RunChild: { Type: 'Task', Resource: START_EXECUTION_SYNC_2, Parameters: {}, End: true } },
      }),
    );
    const { executionArn: arn } = sfn.startExecution({ stateMachineArn: stateMachineArn('NoArn') });
    const done = await sfn.waitForExecution(arn, 5_000);

    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'StepFunctions.InvalidArnException',
      cause: expect.stringContaining('Task state RunChild'),
    });
  });
});
