// The template's SNS topics, run locally as files: every published message is appended to
// `<dataDir>/sns/<topic>.jsonl` and logged. Subscriptions (e-mail to on-call, …) have no local
// endpoint, so the file is where a page goes; the start-up report says so.
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { localResourceName } from '../emulators/names.ts';
import type { StackResolution } from '../stack-resolution.ts';
import type { TaskIntegration } from '../stepfunctions/task-handlers.ts';
import type { AssemblyStack } from '../template/cloud-assembly.ts';
import { resolveValue } from '../template/intrinsics.ts';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';

/** The Step Functions Resource of the SNS publish integration. */
export const SNS_PUBLISH_RESOURCE = 'arn:aws:states:::sns:publish';

/** `arn:aws:sns:us-east-1:000000000000:<name>` (what `Ref` gives in the template). */
export function topicArn(name: string): string {
  return `arn:aws:sns:${DEFAULT_LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
}

/**
 * The local name of topic `logicalId`: its `TopicName` when set, else derived from stack and
 * logical id (with the `.fifo` suffix a FIFO topic's name must have).
 */
export function localTopicName(
  stackName: string,
  logicalId: string,
  properties: Readonly<Record<string, unknown>>,
): string {
  if (typeof properties.TopicName === 'string') return properties.TopicName;
  const fifo = properties.FifoTopic === true || properties.FifoTopic === 'true';
  const name = localResourceName(stackName, logicalId, 'other').replaceAll('.', '-');
  return fifo ? `${name.slice(0, 251)}.fifo` : name.slice(0, 256);
}

/** A Publish request (the fields the `sns:publish` task passes). */
export interface PublishInput {
  readonly TopicArn?: unknown;
  /** A string; anything else is published as its JSON text. */
  readonly Message?: unknown;
  readonly Subject?: unknown;
  readonly MessageAttributes?: unknown;
}

/** One line of `<topic>.jsonl`. */
export interface PublishedMessage {
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly MessageAttributes?: unknown;
}

/** SNS's answer for a topic that does not exist. */
export class TopicNotFound extends Error {
  override readonly name = 'NotFoundException';
}

/** SNS's answer for a request it cannot take (e.g. no Message). */
export class InvalidPublishParameter extends Error {
  override readonly name = 'InvalidParameterException';
}

/** The local topics: publishing appends to a file per topic. */
export class LocalTopics {
  /** Topic ARN → topic name. */
  private readonly topics = new Map<string, string>();
  private readonly dir: string;

  constructor(private readonly options: { readonly dataDir: string; readonly log: (line: string) => void }) {
    this.dir = join(options.dataDir, 'sns');
  }

  addTopic(name: string): string {
    const arn = topicArn(name);
    this.topics.set(arn, name);
    return arn;
  }

  /** Topic ARNs, in the order they were added. */
  topicArns(): string[] {
    return [...this.topics.keys()];
  }

  /** Where the messages of topic `name` go. */
  messageFile(name: string): string {
    return join(this.dir, `${name}.jsonl`);
  }

  /** Publish one message; throws TopicNotFound or InvalidPublishParameter as SNS would. */
  publish(input: PublishInput): { MessageId: string } {
    const arn = typeof input.TopicArn === 'string' ? input.TopicArn : '';
    const name = this.topics.get(arn);
    if (name === undefined) throw new TopicNotFound(`Topic does not exist: ${arn || '(no TopicArn)'}`);
    if (input.Message === undefined || input.Message === null)
      throw new InvalidPublishParameter('Invalid parameter: Message');
    const message: PublishedMessage = {
      MessageId: randomUUID(),
      TopicArn: arn,
      ...(typeof input.Subject === 'string' ? { Subject: input.Subject } : {}),
      Message: typeof input.Message === 'string' ? input.Message : JSON.stringify(input.Message),
      Timestamp: new Date().toISOString(),
      ...(input.MessageAttributes === undefined ? {} : { MessageAttributes: input.MessageAttributes }),
    };
    mkdirSync(this.dir, { recursive: true });
    // One short appended line per message: concurrent publishers do not interleave inside a line.
    appendFileSync(this.messageFile(name), `${JSON.stringify(message)}\n`);
    this.options.log(`[sns] ${name}: ${message.Subject ?? message.Message.slice(0, 100)}`);
    return { MessageId: message.MessageId };
  }

  /** The `arn:aws:states:::sns:publish` task: errors named `SNS.<Exception>` as Step Functions reports them. */
  readonly publishTask: TaskIntegration = async (input) => {
    try {
      return this.publish((input ?? {}) as PublishInput);
    } catch (err) {
      const failure = err as Error;
      const named = new Error(failure.message);
      named.name = `SNS.${failure.name}`;
      throw named;
    }
  };
}

/**
 * The stack's topics (name per topic logical id), and a warning per subscription naming where
 * its messages go instead.
 */
export function readTopics(
  stack: AssemblyStack,
  resolution: StackResolution,
  dataDir: string,
): { topics: Array<{ logicalId: string; name: string }>; warnings: string[] } {
  const resources = stack.template.Resources;
  const topics: Array<{ logicalId: string; name: string }> = [];
  const warnings: string[] = [];
  const nameOf = (logicalId: string) =>
    resolution.physical.get(logicalId) ??
    localTopicName(stack.stackName, logicalId, resources[logicalId]?.Properties ?? {});
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::SNS::Topic') topics.push({ logicalId, name: nameOf(logicalId) });
  }
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::SNS::Subscription') continue;
    const p = r.Properties ?? {};
    let topic = '(unknown topic)';
    try {
      const arn = resolveValue(p.TopicArn, resolution.ctx);
      if (typeof arn === 'string') topic = arn.split(':').pop() ?? arn;
    } catch {
      // the warning still names the subscription
    }
    warnings.push(
      `${logicalId}: the ${String(p.Protocol ?? 'unknown')} subscription to ${topic} gets nothing locally; ` +
        `messages published to ${topic} are appended to ${join(dataDir, 'sns', `${topic}.jsonl`)}`,
    );
  }
  return { topics, warnings };
}
