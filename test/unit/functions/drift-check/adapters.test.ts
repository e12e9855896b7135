// The drift check's AWS adapters with the SDK mocked: capture listing across pages and streamed
// reads, and retraining starts where Step Functions refuses a second execution of a name.
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  executionArnOf,
  s3CaptureObjects,
  stepFunctionsRetrainingStarter,
} from '../../../../functions/drift-check/adapters.ts';
import type { RetrainingRequest } from '../../../../functions/lib/retraining/retraining-request.ts';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TestStack-Retraining';
const REQUEST: RetrainingRequest = {
  model: 'flight-delay',
  trigger: 'drift',
  window: { start: '2026-11-27T07:00:00.000Z', end: '2026-11-27T08:00:00.000Z' },
  reason: 'alarm: 2 significant windows in a row (K = 2)',
};

beforeEach(() => {
  s3.reset();
  sfn.reset();
});

describe('s3CaptureObjects', () => {
  it('lists every page of a partition', async () => {
    const prefix = 'capture/model=m/dt=2026-11-27/hour=06/';
    s3.on(ListObjectsV2Command, { Bucket: 'data', Prefix: prefix, ContinuationToken: undefined }).resolves({
      Contents: [{ Key: `${prefix}a.gz` }, { Key: `${prefix}b.gz` }],
      NextContinuationToken: 'page-2',
    });
    s3.on(ListObjectsV2Command, { Bucket: 'data', Prefix: prefix, ContinuationToken: 'page-2' }).resolves({
      Contents: [{ Key: `${prefix}c.gz` }],
    });

    expect(await s3CaptureObjects(new S3Client({}), 'data').list(prefix)).toEqual([
      `${prefix}a.gz`,
      `${prefix}b.gz`,
      `${prefix}c.gz`,
    ]);
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(2);
  });

  it('streams an object body chunk by chunk', async () => {
    s3.on(GetObjectCommand, { Bucket: 'data', Key: 'capture/x.gz' }).resolves({
      Body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]) as GetObjectCommandOutput['Body'],
    });
    const chunks: string[] = [];
    for await (const chunk of await s3CaptureObjects(new S3Client({}), 'data').open('capture/x.gz'))
      chunks.push(Buffer.from(chunk).toString());
    expect(chunks).toEqual(['ab', 'cd']);
  });
});

describe('stepFunctionsRetrainingStarter', () => {
  it('starts the named execution with the request as its input', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArnOf(MACHINE, 'n'), startDate: new Date() });

    const started = await stepFunctionsRetrainingStarter(new SFNClient({}), MACHINE).start('n', REQUEST);

    expect(started).toEqual({
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:TestStack-Retraining:n',
      alreadyStarted: false,
    });
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ stateMachineArn: MACHINE, name: 'n' });
    expect(JSON.parse(input?.input ?? '')).toEqual(REQUEST);
  });

  it('reports an execution of the same name as already started', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    expect(await stepFunctionsRetrainingStarter(new SFNClient({}), MACHINE).start('n', REQUEST)).toEqual({
      executionArn: executionArnOf(MACHINE, 'n'),
      alreadyStarted: true,
    });
  });

  it('throws any other failure', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(
      stepFunctionsRetrainingStarter(new SFNClient({}), MACHINE).start('n', REQUEST),
    ).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
  });
});
