// CloudWatch Logs subscription filters, locally: the template's `AWS::Logs::SubscriptionFilter`
// resources are read (which local functions log to the filtered log group, the pattern, the
// destination stream), and each is fed from the local Lambda service's log lines. Lines the
// pattern matches are handed on as CloudWatch Logs hands them to Firehose: `DATA_MESSAGE`
// envelopes of log events, gzipped on the wire (`encodeEnvelope`), so the stream's own
// processors (decompression, message extraction) run on exactly what they get on AWS.
import { gzipSync } from 'node:zlib';
import { deliveryStreamName, parseDeliveryStreamArn } from '../firehose/stream-spec.ts';
import type { LogListener } from '../lambda/lambda-service.ts';
import type { StackResolution } from '../stack-resolution.ts';
import { refOf } from '../template/cfn-template.ts';
import type { AssemblyStack } from '../template/cloud-assembly.ts';
import { resolveValue } from '../template/intrinsics.ts';
import { LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';
import { compileFilterPattern, type FilterPattern } from './filter-pattern.ts';

export const SUBSCRIPTION_FILTER_TYPE = 'AWS::Logs::SubscriptionFilter';

/** A subscription filter the local runtime runs. */
export interface SubscriptionFilterSpec {
  readonly logicalId: string;
  readonly filterName: string;
  /** The filtered log group, as it is named locally. */
  readonly logGroupName: string;
  /** Local functions whose logs go to that group. */
  readonly functionNames: readonly string[];
  readonly pattern: FilterPattern;
  /** Name of the Firehose delivery stream that gets the matching events. */
  readonly deliveryStreamName: string;
}

export interface SubscriptionFilterReading {
  readonly filters: SubscriptionFilterSpec[];
  readonly notEmulated: Array<{ readonly logicalId: string; readonly reason: string }>;
  readonly warnings: string[];
}

/** The stack's subscription filters whose destination is a Firehose delivery stream. */
export function readSubscriptionFilters(
  stack: AssemblyStack,
  resolution: StackResolution,
): SubscriptionFilterReading {
  const reading: SubscriptionFilterReading = { filters: [], notEmulated: [], warnings: [] };
  const resources = stack.template.Resources ?? {};
  const groupOf = (value: unknown, at: string) => logGroupKey(value, stack, resolution, at);

  // Which log group each function writes to: its LoggingConfig's, else /aws/lambda/<name>.
  const writers = new Map<string, string[]>();
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const functionName = resolution.physical.get(logicalId) ?? logicalId;
    const configured = (r.Properties?.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup;
    let group = `/aws/lambda/${functionName}`;
    try {
      if (configured !== undefined)
        group = groupOf(configured, `Resources.${logicalId}.Properties.LoggingConfig`);
    } catch {
      continue;
    }
    writers.set(group, [...(writers.get(group) ?? []), functionName]);
  }

  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== SUBSCRIPTION_FILTER_TYPE) continue;
    const p = r.Properties ?? {};
    const at = `Resources.${logicalId}.Properties`;
    try {
      const destination = destinationStream(p.DestinationArn, stack, resolution, at);
      let pattern: FilterPattern;
      try {
        pattern = compileFilterPattern(String(resolveValue(p.FilterPattern ?? '', resolution.ctx, at)));
      } catch (err) {
        throw new Error(`filter pattern: ${(err as Error).message}`);
      }
      const logGroupName = groupOf(p.LogGroupName, `${at}.LogGroupName`);
      const functionNames = writers.get(logGroupName) ?? [];
      if (functionNames.length === 0)
        reading.warnings.push(
          `${logicalId}: no local function logs to ${logGroupName}; the filter gets nothing`,
        );
      if (pattern.marker === '')
        reading.warnings.push(
          `${logicalId}: its pattern has no literal text, so every log line is checked against it (slower)`,
        );
      reading.filters.push({
        logicalId,
        filterName:
          p.FilterName === undefined ? logicalId : String(resolveValue(p.FilterName, resolution.ctx, at)),
        logGroupName,
        functionNames,
        pattern,
        deliveryStreamName: destination,
      });
    } catch (err) {
      reading.notEmulated.push({ logicalId, reason: (err as Error).message });
    }
  }
  return reading;
}

/**
 * A log group as both sides of the match name it: the resolved LogGroupName of an
 * `AWS::Logs::LogGroup` (or a literal name); `ref:<id>` for a group CloudFormation names.
 */
function logGroupKey(value: unknown, stack: AssemblyStack, resolution: StackResolution, at: string): string {
  const id = refOf(value);
  const group = id ? stack.template.Resources?.[id] : undefined;
  if (group?.Type === 'AWS::Logs::LogGroup') {
    const name = group.Properties?.LogGroupName;
    return name === undefined ? `ref:${id}` : String(resolveValue(name, resolution.ctx, at));
  }
  return String(resolveValue(value, resolution.ctx, at)).replace(
    /^arn:[^:]*:logs:[^:]*:[^:]*:log-group:([^:]+).*$/,
    '$1',
  );
}

function destinationStream(
  value: unknown,
  stack: AssemblyStack,
  resolution: StackResolution,
  at: string,
): string {
  const getAtt = (value as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  const target = Array.isArray(getAtt) ? String(getAtt[0]) : undefined;
  if (target && stack.template.Resources?.[target]?.Type === 'AWS::KinesisFirehose::DeliveryStream')
    return deliveryStreamName(stack, resolution, target);
  const arn = String(resolveValue(value, resolution.ctx, `${at}.DestinationArn`));
  const name = parseDeliveryStreamArn(arn);
  if (name === undefined)
    throw new Error(`destination ${arn}: only Firehose delivery streams are emulated as destinations`);
  return name;
}

/** One log event of a subscription envelope. */
export interface SubscriptionLogEvent {
  readonly id: string;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly message: string;
  /**
   * The message as JSON, when the filter pattern parsed it already (a JSON pattern): not part of
   * what CloudWatch Logs sends, and left out of `envelopeJson`.
   */
  readonly json?: object;
}

/** What CloudWatch Logs sends a subscription's destination, before compression (`DATA_MESSAGE`). */
export interface SubscriptionEnvelope {
  readonly messageType: 'DATA_MESSAGE';
  readonly owner: string;
  readonly logGroup: string;
  readonly logStream: string;
  readonly subscriptionFilters: readonly string[];
  readonly logEvents: readonly SubscriptionLogEvent[];
}

/** An envelope's JSON text, as CloudWatch Logs writes it. */
export function envelopeJson(envelope: SubscriptionEnvelope): string {
  return JSON.stringify({
    ...envelope,
    logEvents: envelope.logEvents.map(({ id, timestamp, message }) => ({ id, timestamp, message })),
  });
}

/** An envelope as CloudWatch Logs puts it into the destination: gzipped JSON, one record. */
export function encodeEnvelope(envelope: SubscriptionEnvelope): Buffer {
  return gzipSync(envelopeJson(envelope));
}

/** Hands a delivery stream the records CloudWatch Logs would put (PutRecordBatch): gzipped envelopes. */
export type PutRecords = (deliveryStreamName: string, records: Buffer[]) => void;

/**
 * Hands a delivery stream the envelopes of one batch of log lines, not yet compressed: a
 * destination that decompresses them anyway (as a Firehose stream fed by a subscription does)
 * can skip the round trip, which would give back the same bytes.
 */
export type PutEnvelopes = (deliveryStreamName: string, envelopes: SubscriptionEnvelope[]) => void;

/** At most this much log text per envelope, as CloudWatch Logs keeps each record under Firehose's 1,000 KiB. */
const MAX_ENVELOPE_MESSAGE_BYTES = 256 * 1024;

let eventSequence = 0;

/**
 * The log listener running `filter`: lines of its functions that match its pattern are put into
 * its stream as gzipped CloudWatch Logs envelopes. Add it with `lambda.addLogListener`.
 */
export function subscriptionListener(
  filter: SubscriptionFilterSpec,
  put: PutRecords,
  log: (line: string) => void = () => undefined,
): LogListener {
  return subscriptionEnvelopeListener(
    filter,
    (name, envelopes) => put(name, envelopes.map(encodeEnvelope)),
    log,
  );
}

/**
 * The log listener running `filter`, handing its stream the envelopes uncompressed (see
 * PutEnvelopes): what `LocalFirehose.subscriptionListener` uses. Lines are matched and put as
 * they arrive; the Lambda service hands them over in batches.
 */
export function subscriptionEnvelopeListener(
  filter: SubscriptionFilterSpec,
  put: PutEnvelopes,
  log: (line: string) => void = () => undefined,
): LogListener {
  const functions = new Set(filter.functionNames);
  const subscriptionFilters = [filter.filterName];
  return {
    marker: filter.pattern.marker,
    onLines(lines, source) {
      if (!functions.has(source.functionName)) return;
      try {
        const timestamp = Date.now();
        const logStream = `${new Date(timestamp).toISOString().slice(0, 10).replaceAll('-', '/')}/[${source.version}]local`;
        const envelopes: SubscriptionEnvelope[] = [];
        let events: SubscriptionLogEvent[] = [];
        let bytes = 0;
        const seal = () => {
          if (events.length === 0) return;
          envelopes.push({
            messageType: 'DATA_MESSAGE',
            owner: LOCAL_ACCOUNT_ID,
            logGroup: filter.logGroupName,
            logStream,
            subscriptionFilters,
            logEvents: events,
          });
          events = [];
          bytes = 0;
        };
        for (const message of lines) {
          const matched = filter.pattern.matchEvent(message);
          if (matched === false) continue;
          if (bytes > 0 && bytes + message.length > MAX_ENVELOPE_MESSAGE_BYTES) seal();
          eventSequence = (eventSequence + 1) % 1_000_000;
          const id = `${timestamp}${String(eventSequence).padStart(6, '0')}`;
          events.push(
            matched === true ? { id, timestamp, message } : { id, timestamp, message, json: matched },
          );
          bytes += message.length;
        }
        seal();
        if (envelopes.length > 0) put(filter.deliveryStreamName, envelopes);
      } catch (err) {
        log(
          `[logs] ${filter.logicalId}: log events not delivered to ${filter.deliveryStreamName}: ${(err as Error).message}`,
        );
      }
    },
  };
}
