// The Lambda adapter of AliasControl with the SDK mocked: conditional alias updates, publishing
// with the waits Lambda asks for, and warm-up invocations.
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PreconditionFailedException,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AliasChanged } from '../../../../../functions/lib/releases/alias-routing.ts';
import { LambdaAliasControl } from '../../../../../functions/lib/releases/lambda-alias-control.ts';

const lambda = mockClient(LambdaClient);
const control = () =>
  new LambdaAliasControl(new LambdaClient({}), 'predict', 'live', { pollMs: 0, maxWaitMs: 1000 });
const ENV = { REGISTRY_TABLE: 't' };

beforeEach(() => {
  lambda.reset();
});

describe('getAlias / updateAlias', () => {
  it('reads the version, a second version with its weight, and the revision', async () => {
    lambda.on(GetAliasCommand, { FunctionName: 'predict', Name: 'live' }).resolves({
      FunctionVersion: '4',
      RoutingConfig: { AdditionalVersionWeights: { '5': 0.05 } },
      RevisionId: 'rev-1',
    });

    expect(await control().getAlias()).toEqual({
      version: '4',
      additional: { version: '5', weight: 0.05 },
      revisionId: 'rev-1',
    });
  });

  it('updates at the revision read, clearing the second version when it routes to one', async () => {
    lambda.on(UpdateAliasCommand).resolves({});

    await control().updateAlias({ version: '5' }, 'rev-2');

    expect(lambda.commandCalls(UpdateAliasCommand)[0]?.args[0].input).toEqual({
      FunctionName: 'predict',
      Name: 'live',
      FunctionVersion: '5',
      RoutingConfig: { AdditionalVersionWeights: {} },
      RevisionId: 'rev-2',
    });
  });

  it('fails with AliasChanged when the alias moved since the revision read', async () => {
    lambda.on(UpdateAliasCommand).rejects(
      new PreconditionFailedException({
        message: 'The Revision Id provided does not match',
        $metadata: {},
      }),
    );

    await expect(
      control().updateAlias({ version: '4', additional: { version: '5', weight: 0.25 } }, 'old'),
    ).rejects.toBeInstanceOf(AliasChanged);
  });
});

describe('publishVersion', () => {
  it('sets $LATEST, waits for the update, publishes exactly what it checked and waits until the version is active', async () => {
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: 'predict' })
      .resolvesOnce({ Environment: { Variables: ENV }, RevisionId: 'r1', LastUpdateStatus: 'Successful' })
      .resolvesOnce({ LastUpdateStatus: 'InProgress', RevisionId: 'r2' })
      .resolves({ LastUpdateStatus: 'Successful', RevisionId: 'r2', CodeSha256: 'sha' });
    lambda.on(UpdateFunctionConfigurationCommand).resolves({ RevisionId: 'r2' });
    lambda.on(PublishVersionCommand).resolves({ Version: '7' });
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: 'predict', Qualifier: '7' })
      .resolvesOnce({ State: 'Pending' })
      .resolves({ State: 'Active' });

    const version = await control().publishVersion({ ...ENV, MODEL_VERSION_PINS: '{"m":3}' }, 'release x');

    expect(version).toBe('7');
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)[0]?.args[0].input).toEqual({
      FunctionName: 'predict',
      Environment: { Variables: { ...ENV, MODEL_VERSION_PINS: '{"m":3}' } },
      RevisionId: 'r1',
    });
    expect(lambda.commandCalls(PublishVersionCommand)[0]?.args[0].input).toEqual({
      FunctionName: 'predict',
      Description: 'release x',
      CodeSha256: 'sha',
      RevisionId: 'r2',
    });
  });

  it('does not update $LATEST when it already has the environment (a retried publish)', async () => {
    lambda.on(GetFunctionConfigurationCommand).resolves({
      Environment: { Variables: ENV },
      RevisionId: 'r1',
      LastUpdateStatus: 'Successful',
      State: 'Active',
    });
    lambda.on(PublishVersionCommand).resolves({ Version: '6' });

    expect(await control().publishVersion(ENV, 'release x')).toBe('6');
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
  });

  it('fails naming the reason when the configuration update fails', async () => {
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolvesOnce({ Environment: { Variables: {} }, RevisionId: 'r1' })
      .resolves({ LastUpdateStatus: 'Failed', LastUpdateStatusReason: 'EniLimitExceeded' });
    lambda.on(UpdateFunctionConfigurationCommand).resolves({ RevisionId: 'r2' });

    await expect(control().publishVersion(ENV, 'x')).rejects.toThrow(
      "updating predict's configuration failed: EniLimitExceeded",
    );
  });

  it('gives up waiting after maxWaitMs, naming what it waited for', async () => {
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ Environment: { Variables: ENV }, LastUpdateStatus: 'InProgress' });
    const slow = new LambdaAliasControl(new LambdaClient({}), 'predict', 'live', { pollMs: 0, maxWaitMs: 0 });

    await expect(slow.publishVersion(ENV, 'x')).rejects.toThrow(
      'predict: its update did not settle within 0 s',
    );
  });
});

describe('invokeVersion', () => {
  it('invokes the qualified version and decodes its answer, with the function error if any', async () => {
    lambda.on(InvokeCommand, { FunctionName: 'predict', Qualifier: '7' }).resolves({
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode('{"errorType":"Error","errorMessage":"boom"}') as never,
    });

    expect(await control().invokeVersion('7', { a: 1 })).toEqual({
      functionError: 'Unhandled',
      payload: { errorType: 'Error', errorMessage: 'boom' },
    });
    expect(
      new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array),
    ).toBe('{"a":1}');
  });
});
