// Execution names on the local engine, as AWS keeps them for Standard state machines: a name is
// used once (a repeated start of a running execution with the same input is that execution, any
// other reuse is ExecutionAlreadyExists), and that holds across a restart of the platform, which
// is what lets a drift check retried for one window start one retraining.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import { ExecutionAlreadyExists } from '../../../../local/stepfunctions/errors.ts';
import { LocalStepFunctions } from '../../../../local/stepfunctions/local-step-functions.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'mlops-names-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const spec = {
  logicalId: 'RetrainingMachine',
  name: 'Retraining',
  arn: stateMachineArn('Retraining'),
  type: 'STANDARD' as const,
  definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
};

function engine(): LocalStepFunctions {
  const sfn = new LocalStepFunctions({
    invokeLambda: () => Promise.reject(new Error('no functions here')),
    log: () => undefined,
    dataDir,
  });
  sfn.addStateMachine(spec);
  return sfn;
}

describe('execution names', () => {
  const name = 'flight-delay-drift-20261127T070000Z';
  const input = JSON.stringify({ model: 'flight-delay', trigger: 'drift' });

  it('refuses a second start of an ended execution, with the same input or another', async () => {
    const sfn = engine();
    const { executionArn } = sfn.startExecution({ stateMachineArn: spec.arn, name, input });
    expect((await sfn.waitForExecution(executionArn, 5_000)).status).toBe('SUCCEEDED');

    expect(() => sfn.startExecution({ stateMachineArn: spec.arn, name, input })).toThrow(
      ExecutionAlreadyExists,
    );
    expect(() => sfn.startExecution({ stateMachineArn: spec.arn, name, input: '{}' })).toThrow(
      ExecutionAlreadyExists,
    );
    await sfn.close();
  });

  it('still refuses the name after a restart, and keeps one execution of it', async () => {
    const restarted = engine();

    expect(() => restarted.startExecution({ stateMachineArn: spec.arn, name, input })).toThrow(
      ExecutionAlreadyExists,
    );
    expect(restarted.listExecutions(spec.arn).map((e) => [e.name, e.status])).toEqual([[name, 'SUCCEEDED']]);
    await restarted.close();
  });
});
