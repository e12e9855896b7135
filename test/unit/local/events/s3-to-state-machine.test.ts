// End to end on a tiny template in memory: a CSV put into an EventBridge-enabled bucket on
// s3rver → the rule → StartExecution → a Distributed Map whose ItemReader reads that CSV with the
// batch Lambdas' reader → batches of rows in file order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3, localS3Client, onObjectEvent, startS3 } from '../../../../local/emulators/s3.ts';
import { LocalEventRouter } from '../../../../local/events/event-router.ts';
import { readEventRules } from '../../../../local/events/event-rules.ts';
import { eventBridgeBuckets } from '../../../../local/events/s3-event-source.ts';
import type { EventBridgeEvent } from '../../../../local/events/s3-events.ts';
import { stackResolution } from '../../../../local/stack-resolution.ts';
import { LocalStepFunctions } from '../../../../local/stepfunctions/local-step-functions.ts';
import { s3ItemSource } from '../../../../local/stepfunctions/s3-item-source.ts';
import { readStateMachines } from '../../../../local/stepfunctions/template-state-machines.ts';
import type { AssemblyStack } from '../../../../local/template/cloud-assembly.ts';

const definition = {
  StartAt: 'Plan',
  States: {
    Plan: {
      Type: 'Pass',
      Parameters: { 'bucket.$': '$.detail.bucket.name', 'readKey.$': '$.detail.object.key', batchSize: 2 },
      ResultPath: '$.plan',
      Next: 'ScoreCsvInBatches',
    },
    ScoreCsvInBatches: {
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
        Parameters: { 'Bucket.$': '$.plan.bucket', 'Key.$': '$.plan.readKey' },
      },
      ItemSelector: { 'index.$': '$$.Map.Item.Index', 'row.$': '$$.Map.Item.Value' },
      ItemBatcher: { MaxItemsPerBatchPath: '$.plan.batchSize', BatchInput: { 'plan.$': '$.plan' } },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'ScoreBatch',
        States: {
          ScoreBatch: {
            Type: 'Pass',
            Parameters: { 'rows.$': '$.Items', 'key.$': '$.BatchInput.plan.readKey' },
            End: true,
          },
        },
      },
      ToleratedFailurePercentage: 5,
      ResultPath: '$.parts',
      OutputPath: '$.parts',
      End: true,
    },
  },
};

const stack: AssemblyStack = {
  stackName: 'Tiny',
  artifactId: 'Tiny',
  displayName: 'Tiny',
  templateFile: 'Tiny.template.json',
  assets: new Map(),
  dockerImages: [],
  environment: {},
  template: {
    Resources: {
      Data: { Type: 'AWS::S3::Bucket' },
      DataNotifications: {
        Type: 'Custom::S3BucketNotifications',
        Properties: {
          BucketName: { Ref: 'Data' },
          NotificationConfiguration: { EventBridgeConfiguration: {} },
        },
      },
      Scoring: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: { DefinitionString: JSON.stringify(definition) },
      },
      InputDropped: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: {
            source: ['aws.s3'],
            'detail-type': ['Object Created'],
            detail: { bucket: { name: [{ Ref: 'Data' }] }, object: { key: [{ prefix: 'incoming/' }] } },
          },
          Targets: [{ Arn: { Ref: 'Scoring' }, Id: 'Target0' }],
        },
      },
    },
  },
};

describe('an object put under incoming/ in an EventBridge-enabled bucket', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlops-events-'));
  const lines: string[] = [];
  let s3: LocalS3;
  let client: S3Client;
  let sfn: LocalStepFunctions;
  let events: LocalEventRouter;
  let unsubscribe: () => void;
  let bucket: string;

  beforeAll(async () => {
    s3 = await startS3({ dataDir: join(root, 's3') });
    client = localS3Client(s3.endpoint);
    const resolution = stackResolution(stack, s3.endpoint);
    bucket = resolution.physical.get('Data') ?? '';
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    sfn = new LocalStepFunctions({
      invokeLambda: async () => undefined,
      log: (line) => lines.push(line),
      dataDir: root,
      readItems: s3ItemSource(client),
    });
    for (const spec of readStateMachines(stack, resolution).machines) sfn.addStateMachine(spec);
    events = new LocalEventRouter({
      targets: {
        startExecution: (request) => sfn.startExecution(request),
        invokeLambda: async () => undefined,
      },
      log: (line) => lines.push(line),
    });
    for (const rule of readEventRules(stack, resolution).rules) events.addRule(rule);
    for (const name of eventBridgeBuckets(stack, resolution).buckets) events.addS3Bucket(name);
    unsubscribe = onObjectEvent(s3.server, events.onS3ObjectEvent);
  });
  afterAll(async () => {
    unsubscribe();
    await events.close();
    await sfn.close();
    client.destroy();
    await s3.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('starts the state machine, whose Distributed Map scores the file in batches of rows', async () => {
    const key = 'incoming/flights/jan.csv';
    const body = 'origin,destination,note\nSFO,LAX,"a, b"\nJFK,BOS,\nORD,DEN,"say ""hi"""\n';

    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await events.waitForIdle();

    const [arn] = events.executionsFor(key);
    expect(arn).toBeDefined();
    const done = await sfn.waitForExecution(arn ?? '', 10_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual([
      {
        key,
        rows: [
          { index: 0, row: { origin: 'SFO', destination: 'LAX', note: 'a, b' } },
          { index: 1, row: { origin: 'JFK', destination: 'BOS', note: '' } },
        ],
      },
      { key, rows: [{ index: 2, row: { origin: 'ORD', destination: 'DEN', note: 'say "hi"' } }] },
    ]);
    const input = JSON.parse(done.input) as EventBridgeEvent;
    expect(input).toMatchObject({
      'detail-type': 'Object Created',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: { object: { key, size: Buffer.byteLength(body) }, reason: 'PutObject' },
    });
    expect(lines).toContain(
      `[events] InputDropped: s3://${bucket}/${key} → ${done.stateMachineArn.split(':').pop()} ${done.name}`,
    );
  });

  it('starts a second execution with the same result when the event is delivered again', async () => {
    const key = 'incoming/flights/feb.csv';
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'a\n1\n' }));
    await events.waitForIdle();
    const event = events.received().find((e) => (e.detail as { object: { key: string } }).object.key === key);

    await events.replay(event as EventBridgeEvent);

    const arns = events.executionsFor(key);
    expect(arns).toHaveLength(2);
    const outputs = await Promise.all(
      arns.map((arn) => sfn.waitForExecution(arn, 10_000).then((d) => d.output)),
    );
    expect(outputs[0]).toBe(outputs[1]);
  });

  it('starts nothing for a key outside incoming/', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'scores/x.jsonl', Body: '{}' }));
    await events.waitForIdle();

    expect(events.executionsFor('scores/x.jsonl')).toEqual([]);
  });
});
