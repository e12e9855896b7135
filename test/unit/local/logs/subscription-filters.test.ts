import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CAPTURE_FILTER_PATTERN } from '../../../../functions/lib/capture/capture-record.ts';
import {
  readSubscriptionFilters,
  type SubscriptionEnvelope,
  subscriptionEnvelopeListener,
  subscriptionListener,
} from '../../../../local/logs/subscription-filters.ts';
import { defined } from '../defined.ts';
import { captureStack } from '../firehose/capture-stack.ts';

const filterIn = (t: { Resources: Record<string, any> }) =>
  Object.values(t.Resources).find((r) => r.Type === 'AWS::Logs::SubscriptionFilter');

describe('readSubscriptionFilters', () => {
  it('ties the capture filter to the function logging to its group and to the stream', () => {
    const { stack, resolution, ids } = captureStack();
    const reading = readSubscriptionFilters(stack, resolution);
    expect(reading.notEmulated).toEqual([]);
    expect(reading.warnings).toEqual([]);
    const filter = defined(reading.filters[0], 'the capture filter');
    expect(filter).toMatchObject({
      logicalId: ids.filter,
      filterName: ids.filter,
      logGroupName: `ref:${ids.logGroup}`,
      functionNames: [resolution.physical.get(ids.fn)],
      deliveryStreamName: `CaptureStack-${ids.stream}`,
    });
    expect(filter.pattern.source).toBe(CAPTURE_FILTER_PATTERN);
    expect(filter.pattern.marker).toBe('inference-capture');
  });

  it('finds a function’s default /aws/lambda/<name> group and a stream named by ARN', () => {
    const { stack, resolution, ids } = captureStack((t) => {
      const fn = Object.values(t.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
      fn.Properties.FunctionName = 'predict';
      delete fn.Properties.LoggingConfig;
      const stream = Object.values(t.Resources).find(
        (r) => r.Type === 'AWS::KinesisFirehose::DeliveryStream',
      );
      stream.Properties.DeliveryStreamName = 'capture';
      const filter = filterIn(t);
      filter.Properties.LogGroupName = '/aws/lambda/predict';
      filter.Properties.DestinationArn = 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/capture';
    });
    const filter = defined(readSubscriptionFilters(stack, resolution).filters[0], 'the filter');
    expect(filter.functionNames).toEqual(['predict']);
    expect(filter.deliveryStreamName).toBe('capture');
    expect(ids.filter).toBe(filter.logicalId);
  });

  it('reports filters it cannot run and warns about groups no function writes to', () => {
    const lambdaDestination = captureStack((t) => {
      filterIn(t).Properties.DestinationArn = 'arn:aws:lambda:us-east-1:000000000000:function:x';
    });
    expect(
      readSubscriptionFilters(lambdaDestination.stack, lambdaDestination.resolution).notEmulated,
    ).toEqual([
      {
        logicalId: lambdaDestination.ids.filter,
        reason: expect.stringMatching(/only Firehose delivery streams/),
      },
    ]);
    const regex = captureStack((t) => {
      filterIn(t).Properties.FilterPattern = '{ $.kind = %capture% }';
    });
    expect(readSubscriptionFilters(regex.stack, regex.resolution).notEmulated).toEqual([
      { logicalId: regex.ids.filter, reason: expect.stringMatching(/^filter pattern: regular expression/) },
    ]);
    const orphan = captureStack((t) => {
      filterIn(t).Properties.LogGroupName = '/aws/lambda/nobody';
    });
    expect(readSubscriptionFilters(orphan.stack, orphan.resolution).warnings).toEqual([
      `${orphan.ids.filter}: no local function logs to /aws/lambda/nobody; the filter gets nothing`,
    ]);
  });
});

describe('subscriptionListener', () => {
  const { stack, resolution } = captureStack();
  const filter = defined(readSubscriptionFilters(stack, resolution).filters[0], 'the filter');
  const fn = filter.functionNames[0] ?? '';

  it('puts matching lines of its functions as one gzipped CloudWatch Logs envelope', () => {
    const puts: Array<[string, Buffer[]]> = [];
    const listener = subscriptionListener(filter, (name, records) => puts.push([name, records]));
    expect(listener.marker).toBe('inference-capture');
    const capture = JSON.stringify({ kind: 'inference-capture', model: 'm' });
    listener.onLines([capture, '{"kind":"other","note":"inference-capture"}', capture], {
      functionName: fn,
      version: '3',
    });
    expect(puts).toHaveLength(1);
    const [name, records] = defined(puts[0], 'a put');
    expect(name).toBe(filter.deliveryStreamName);
    expect(records).toHaveLength(1);
    const envelope = JSON.parse(gunzipSync(defined(records[0], 'a record')).toString('utf8'));
    expect(envelope).toMatchObject({
      messageType: 'DATA_MESSAGE',
      logGroup: filter.logGroupName,
      logStream: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[3\]/),
      subscriptionFilters: [filter.filterName],
    });
    expect(envelope.logEvents.map((e: { message: string }) => e.message)).toEqual([capture, capture]);
  });

  it('ignores other functions’ lines and lines the pattern does not match', () => {
    const puts: unknown[] = [];
    const listener = subscriptionListener(filter, (...args) => puts.push(args));
    listener.onLines([JSON.stringify({ kind: 'inference-capture' })], {
      functionName: 'other',
      version: '1',
    });
    listener.onLines(['inference-capture but not JSON'], { functionName: fn, version: '1' });
    expect(puts).toEqual([]);
  });

  it('splits many events over several envelopes', () => {
    const puts: Buffer[][] = [];
    const listener = subscriptionListener(filter, (_, records) => puts.push(records));
    const line = JSON.stringify({ kind: 'inference-capture', pad: 'x'.repeat(100_000) });
    listener.onLines([line, line, line, line, line], { functionName: fn, version: '1' });
    const events = defined(puts[0], 'a put').map(
      (r) => JSON.parse(gunzipSync(r).toString('utf8')).logEvents.length as number,
    );
    expect(events.length).toBeGreaterThan(1);
    expect(events.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('hands a stream that decompresses anyway the envelopes themselves, with the JSON it parsed', () => {
    const puts: Array<[string, SubscriptionEnvelope[]]> = [];
    const listener = subscriptionEnvelopeListener(filter, (name, envelopes) => puts.push([name, envelopes]));
    const capture = JSON.stringify({ kind: 'inference-capture', model: 'm' });
    listener.onLines([capture, 'inference-capture, not JSON'], { functionName: fn, version: '2' });
    const [name, envelopes] = defined(puts[0], 'a put');
    expect(name).toBe(filter.deliveryStreamName);
    expect(envelopes).toHaveLength(1);
    expect(envelopes[0]).toMatchObject({
      messageType: 'DATA_MESSAGE',
      logGroup: filter.logGroupName,
      subscriptionFilters: [filter.filterName],
      logEvents: [{ message: capture, json: { kind: 'inference-capture', model: 'm' } }],
    });
    // The gzipped form of the same lines carries the messages only.
    const gzipped: Buffer[][] = [];
    subscriptionListener(filter, (_, records) => gzipped.push(records)).onLines([capture], {
      functionName: fn,
      version: '2',
    });
    const sent = JSON.parse(gunzipSync(defined(gzipped[0]?.[0], 'a record')).toString('utf8'));
    expect(Object.keys(sent.logEvents[0]).sort()).toEqual(['id', 'message', 'timestamp']);
  });

  it('logs instead of throwing when the stream refuses the records', () => {
    const lines: string[] = [];
    const listener = subscriptionListener(
      filter,
      () => {
        throw new Error('stream gone');
      },
      (l) => lines.push(l),
    );
    listener.onLines([JSON.stringify({ kind: 'inference-capture' })], { functionName: fn, version: '1' });
    expect(lines).toEqual([expect.stringContaining('stream gone')]);
  });
});
