// The local event router with fake targets: which rules an S3 event reaches, what each target
// is sent, replays, and what a test can read back.
import { describe, expect, it } from 'vitest';
import type { S3ObjectEvent } from '../../../../local/emulators/s3.ts';
import { LocalEventRouter } from '../../../../local/events/event-router.ts';
import type { EventRule } from '../../../../local/events/event-rules.ts';
import type { EventBridgeEvent } from '../../../../local/events/s3-events.ts';
import { executionArn, stateMachineArn } from '../../../../local/stepfunctions/arns.ts';

const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

const scoringRule: EventRule = {
  logicalId: 'InputDropped',
  name: 'S-InputDropped',
  arn: 'arn:aws:events:us-east-1:000000000000:rule/S-InputDropped',
  eventBusName: 'default',
  enabled: true,
  pattern: {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: ['data'] }, object: { key: [{ prefix: 'incoming/' }] } },
  },
  targets: [{ id: 'Target0', arn: stateMachineArn('Scoring'), roleArn: 'arn:aws:iam::000000000000:role/r' }],
};

function put(key: string, overrides: Partial<S3ObjectEvent> = {}): S3ObjectEvent {
  return {
    eventName: 'ObjectCreated:Put',
    bucket: 'data',
    key,
    size: 3,
    etag: 'etag-1',
    sequencer: '018C2D4E5F6A0001',
    eventTime: '2024-01-12T08:30:15.123Z',
    ...overrides,
  };
}

function router(
  rules: EventRule[] = [scoringRule],
  options: { describeObject?: () => Promise<object> } = {},
) {
  const lines: string[] = [];
  const started: Array<{ stateMachineArn: string; input: unknown }> = [];
  const invoked: Array<{ ref: string; event: unknown }> = [];
  let n = 0;
  const events = new LocalEventRouter({
    targets: {
      startExecution: ({ stateMachineArn: arn, input }) => {
        if (arn.endsWith(':Missing'))
          throw Object.assign(new Error('State Machine Does Not Exist'), {
            name: 'StateMachineDoesNotExist',
          });
        started.push({ stateMachineArn: arn, input: JSON.parse(input) });
        return { executionArn: executionArn(arn.split(':').pop() ?? '', `run-${++n}`) };
      },
      invokeLambda: async (ref, event) => {
        invoked.push({ ref, event });
        if (ref.endsWith(':broken')) throw new Error('handler blew up');
        return null;
      },
    },
    log: (line) => lines.push(line),
    ...(options.describeObject ? { describeObject: options.describeObject } : {}),
  });
  for (const rule of rules) events.addRule(rule);
  events.addS3Bucket('data');
  return { events, lines, started, invoked };
}

describe('LocalEventRouter', () => {
  it('starts the target state machine with the S3 event as input and logs the delivery', async () => {
    const { events, lines, started } = router();

    events.onS3ObjectEvent(put('incoming/flights/a.csv'));
    await events.waitForIdle();

    expect(started).toHaveLength(1);
    const input = started[0]?.input as EventBridgeEvent;
    expect(input).toMatchObject({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: {
        bucket: { name: 'data' },
        object: { key: 'incoming/flights/a.csv', size: 3, etag: 'etag-1' },
      },
    });
    expect(lines).toEqual(['[events] InputDropped: s3://data/incoming/flights/a.csv → Scoring run-1']);
    expect(events.executionsFor('incoming/flights/a.csv')).toEqual([executionArn('Scoring', 'run-1')]);
    expect(events.received().map((e) => e.id)).toEqual([input.id]);
  });

  it.each([
    ['a key outside the prefix', put('scores/a.jsonl')],
    ['a bucket without EventBridge', put('incoming/a.csv', { bucket: 'other' })],
    ['a delete', put('incoming/a.csv', { eventName: 'ObjectRemoved:Delete' })],
  ])('routes nothing for %s', async (_, event) => {
    const { events, started, lines } = router();

    events.onS3ObjectEvent(event);
    await events.waitForIdle();

    expect(started).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('skips a disabled rule', async () => {
    const { events, started } = router([{ ...scoringRule, enabled: false }]);

    events.onS3ObjectEvent(put('incoming/a.csv'));
    await events.waitForIdle();

    expect(started).toEqual([]);
  });

  it('delivers a replayed event again, with the same id, to a new execution', async () => {
    const { events, started } = router();
    events.onS3ObjectEvent(put('incoming/a.csv'));
    await events.waitForIdle();
    const [first] = events.received();

    const deliveries = await events.replay(first as EventBridgeEvent);

    expect(deliveries).toMatchObject([
      { rule: 'InputDropped', executionArn: executionArn('Scoring', 'run-2') },
    ]);
    expect(started.map((s) => (s.input as EventBridgeEvent).id)).toEqual([first?.id, first?.id]);
    expect(events.executionsFor('incoming/a.csv')).toEqual([
      executionArn('Scoring', 'run-1'),
      executionArn('Scoring', 'run-2'),
    ]);
  });

  it('invokes a Lambda target asynchronously with its InputTransformer output, logging a failure', async () => {
    const { events, invoked, lines } = router([
      {
        ...scoringRule,
        targets: [
          {
            id: 'Notify',
            arn: fnArn('broken'),
            inputTransformer: {
              inputPathsMap: { key: '$.detail.object.key', type: '$.detail-type' },
              inputTemplate: '{"key":<key>,"text":"<type> at <key>","rule":"<aws.events.rule-name>"}',
            },
          },
        ],
      },
    ]);

    events.onS3ObjectEvent(put('incoming/a "b".csv'));
    await events.waitForIdle();
    await new Promise((ok) => setImmediate(ok));

    expect(invoked).toEqual([
      {
        ref: fnArn('broken'),
        event: {
          key: 'incoming/a "b".csv',
          text: 'Object Created at incoming/a "b".csv',
          rule: 'S-InputDropped',
        },
      },
    ]);
    expect(lines).toEqual([
      '[events] InputDropped: s3://data/incoming/a "b".csv → function broken (asynchronous)',
      '[events] InputDropped: s3://data/incoming/a "b".csv → function broken failed: handler blew up',
    ]);
  });

  it('sends a constant Input or the part at InputPath', async () => {
    const { events, started } = router([
      {
        ...scoringRule,
        targets: [
          { id: 'A', arn: stateMachineArn('A'), input: '{"fixed":true}' },
          { id: 'B', arn: stateMachineArn('B'), inputPath: '$.detail.object' },
        ],
      },
    ]);

    await events.publish({
      version: '0',
      id: 'e-1',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: '2024-01-12T08:30:15Z',
      region: 'us-east-1',
      resources: [],
      detail: { bucket: { name: 'data' }, object: { key: 'incoming/x.csv', size: 1 } },
    });

    expect(started.map((s) => s.input)).toEqual([{ fixed: true }, { key: 'incoming/x.csv', size: 1 }]);
  });

  it('records a delivery its target refused, or cannot take', async () => {
    const { events, lines } = router([
      {
        ...scoringRule,
        targets: [
          { id: 'Gone', arn: stateMachineArn('Missing') },
          { id: 'Queue', arn: 'arn:aws:sqs:us-east-1:000000000000:q' },
        ],
      },
    ]);

    events.onS3ObjectEvent(put('incoming/a.csv'));
    await events.waitForIdle();

    expect(events.deliveries({ key: 'incoming/a.csv' }).map((d) => d.error)).toEqual([
      'StateMachineDoesNotExist: State Machine Does Not Exist',
      'target arn:aws:sqs:us-east-1:000000000000:q is not emulated locally',
    ]);
    expect(lines).toHaveLength(2);
  });

  it('asks for the size and ETag s3rver leaves out of a copy before routing it', async () => {
    const { events, started } = router([scoringRule], {
      describeObject: async () => ({ size: 42, etag: 'copied' }),
    });

    events.onS3ObjectEvent(
      put('incoming/c.csv', { eventName: 'ObjectCreated:Copy', size: undefined, etag: undefined }),
    );
    await events.waitForIdle();

    expect(started[0]?.input).toMatchObject({
      detail: { object: { key: 'incoming/c.csv', size: 42, etag: 'copied' }, reason: 'CopyObject' },
    });
  });
});
