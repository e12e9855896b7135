// The local EventBridge: routes events (S3 "Object Created" events from buckets with EventBridge
// on, or ones a caller publishes) to every enabled rule whose pattern matches, fires schedule
// rules at their times (scheduler.ts), and delivers both to the rule's targets: a state machine gets StartExecution with the event as input (a generated
// execution name, as EventBridge gives), a Lambda function an asynchronous invoke. Every
// delivery is logged and kept (the latest ones), so a test can find the executions an object
// started, re-deliver an event as S3's at-least-once delivery may, or wait until routing is done.
import type { S3ObjectEvent } from '../emulators/s3.ts';
import { parseFunctionRef } from '../lambda/lambda-service.ts';
import { parseExecutionArn, parseStateMachineArn } from '../stepfunctions/arns.ts';
import { matchesPattern } from './event-pattern.ts';
import type { EventRule, RuleTarget } from './event-rules.ts';
import { type EventBridgeEvent, isObjectCreated, objectCreatedEvent } from './s3-events.ts';
import {
  isScheduledEvent,
  LocalScheduler,
  type ScheduleSettings,
  scheduledEvent,
  type UpcomingFiring,
} from './scheduler.ts';
import { targetInput } from './target-input.ts';

/** What the router delivers to. */
export interface EventTargets {
  /** StartExecution of the local Step Functions engine. */
  startExecution(request: { stateMachineArn: string; input: string }): { executionArn: string };
  /** A synchronous local invoke; the router does not wait for it (an asynchronous invoke). */
  invokeLambda(ref: string, event: unknown): Promise<unknown>;
}

export interface EventRouterOptions {
  readonly targets: EventTargets;
  readonly log: (line: string) => void;
  /**
   * Size and ETag of an object whose s3rver event lacks them (copies), for the event's detail.
   * @default none: the fields are left out
   */
  readonly describeObject?: (bucket: string, key: string) => Promise<{ size?: number; etag?: string }>;
  /** How many events and deliveries are kept for `received()` and `deliveries()`. @default 1000 */
  readonly keep?: number;
  /** How schedule rules fire. @default timers, in real time, once `startSchedules()` is called */
  readonly schedules?: ScheduleSettings;
}

/** One event handed to one target. */
export interface Delivery {
  readonly eventId: string;
  /** The rule's logical id. */
  readonly rule: string;
  readonly targetId: string;
  readonly targetArn: string;
  readonly at: Date;
  /** For S3 events: the object. */
  readonly bucket?: string;
  readonly key?: string;
  /** For a state machine target: the execution it started. */
  readonly executionArn?: string;
  /** Why the target could not be reached (not emulated, StartExecution refused…). */
  readonly error?: string;
}

export class LocalEventRouter {
  private readonly rulesByLogicalId = new Map<string, EventRule>();
  private readonly s3Buckets = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly routed: EventBridgeEvent[] = [];
  private readonly delivered: Delivery[] = [];
  private closed = false;
  private readonly scheduler: LocalScheduler;

  constructor(private readonly options: EventRouterOptions) {
    this.scheduler = new LocalScheduler({
      ...options.schedules,
      log: options.log,
      fire: (rule, at) => {
        if (!this.closed) this.fireSchedule(rule, at);
      },
    });
  }

  addRule(rule: EventRule): void {
    if (this.rulesByLogicalId.has(rule.logicalId)) throw new Error(`rule ${rule.logicalId} is added twice`);
    this.rulesByLogicalId.set(rule.logicalId, rule);
    if (rule.schedule) this.scheduler.add(rule);
  }

  /** Start the schedule rules' timers (none in `manual` mode): call once every target exists. */
  startSchedules(): void {
    if (!this.closed) this.scheduler.start();
  }

  /**
   * Fire schedule rule `rule` (its name or logical id) once, now or for fire time `at`, as its
   * schedule would: its targets get a "Scheduled Event". Fails for a disabled rule or one
   * without a schedule. Resolves with its deliveries.
   */
  async runSchedule(rule: string, at: Date = this.scheduler.now()): Promise<Delivery[]> {
    if (this.closed) throw new Error('the local event router is closed');
    const found = this.findRule(rule);
    if (!found.schedule) throw new Error(`rule ${rule} has no ScheduleExpression`);
    if (!found.enabled) throw new Error(`rule ${rule} is DISABLED: EventBridge never fires it`);
    return this.fireSchedule(found, at);
  }

  /** The next firing of each schedule rule armed with a timer, soonest first. */
  upcomingSchedules(): UpcomingFiring[] {
    return this.scheduler.upcoming();
  }

  rules(): EventRule[] {
    return [...this.rulesByLogicalId.values()];
  }

  /** Send the "Object Created" events of `bucketName` to the default bus. */
  addS3Bucket(bucketName: string): void {
    this.s3Buckets.add(bucketName);
  }

  /**
   * The listener for `onObjectEvent`: objects created in an EventBridge-enabled bucket become
   * "Object Created" events. Routing starts before it returns, so `waitForIdle` covers it.
   */
  readonly onS3ObjectEvent = (event: S3ObjectEvent): void => {
    if (this.closed || !this.s3Buckets.has(event.bucket) || !isObjectCreated(event)) return;
    this.track(
      (async () => {
        const { describeObject } = this.options;
        const known: { size?: number; etag?: string } =
          describeObject && (event.etag === undefined || event.size === undefined)
            ? await describeObject(event.bucket, event.key).catch(() => ({}))
            : {};
        const etag = event.etag ?? known.etag;
        const size = event.size ?? known.size;
        const complete = {
          ...event,
          ...(etag === undefined ? {} : { etag }),
          ...(size === undefined ? {} : { size }),
        };
        await this.route(objectCreatedEvent(complete), 'default');
      })(),
    );
  };

  /**
   * Route `event` on `eventBusName` as PutEvents would (a caller-made event, or one from
   * `received()` to deliver again). Resolves with its deliveries.
   */
  publish(event: EventBridgeEvent, eventBusName = 'default'): Promise<Delivery[]> {
    return this.track(this.route(event, eventBusName));
  }

  /** Deliver `event` again (the same id), as S3's at-least-once delivery sometimes does. */
  replay(event: EventBridgeEvent): Promise<Delivery[]> {
    return this.publish(event, 'default');
  }

  /** The latest events routed, oldest first (scheduled events are not routed: see `deliveries()`). */
  received(): EventBridgeEvent[] {
    return [...this.routed];
  }

  /** The latest deliveries, oldest first; `filter` keeps those of one object key, rule or event. */
  deliveries(filter: { key?: string; rule?: string; eventId?: string } = {}): Delivery[] {
    return this.delivered.filter(
      (d) =>
        (filter.key === undefined || d.key === filter.key) &&
        (filter.rule === undefined || d.rule === filter.rule) &&
        (filter.eventId === undefined || d.eventId === filter.eventId),
    );
  }

  /** The executions the events for object `key` started, oldest first. */
  executionsFor(key: string): string[] {
    return this.deliveries({ key }).flatMap((d) => (d.executionArn ? [d.executionArn] : []));
  }

  /** Resolves once every event received so far has been delivered (not once its executions end). */
  async waitForIdle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Take no more S3 events, stop the schedules and let what is in flight finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.scheduler.stop();
    await this.waitForIdle();
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
    return work;
  }

  private async route(event: EventBridgeEvent, bus: string): Promise<Delivery[]> {
    this.keep(this.routed, event);
    const deliveries: Delivery[] = [];
    for (const rule of this.rulesByLogicalId.values()) {
      const { pattern } = rule;
      if (!rule.enabled || rule.eventBusName !== bus || !pattern || !matchesPattern(pattern, event)) continue;
      for (const target of rule.targets) deliveries.push(this.deliver(event, rule, target));
    }
    return deliveries;
  }

  private fireSchedule(rule: EventRule, at: Date): Delivery[] {
    const event = scheduledEvent(rule, at);
    return rule.targets.map((target) => this.deliver(event, rule, target));
  }

  private findRule(ref: string): EventRule {
    const rules = [...this.rulesByLogicalId.values()];
    const found = rules.find((r) => r.name === ref) ?? this.rulesByLogicalId.get(ref);
    if (found) return found;
    const schedules = rules.filter((r) => r.schedule).map((r) => r.logicalId);
    throw new Error(
      `no rule named ${ref}; schedule rules: ${schedules.length > 0 ? schedules.join(', ') : 'none'}`,
    );
  }

  private deliver(event: EventBridgeEvent, rule: EventRule, target: RuleTarget): Delivery {
    const object = s3Object(event);
    const scheduled = isScheduledEvent(event);
    const what = object
      ? `s3://${object.bucket}/${object.key}`
      : scheduled
        ? event.time
        : `${event.source} ${event['detail-type']}`;
    const label = scheduled ? `${rule.logicalId} (schedule)` : rule.logicalId;
    const base = {
      eventId: event.id,
      rule: rule.logicalId,
      targetId: target.id,
      targetArn: target.arn,
      at: new Date(),
      ...(object ?? {}),
    };
    let delivery: Delivery;
    try {
      const input = targetInput(target, event, rule);
      const machine = parseStateMachineArn(target.arn);
      if (machine !== undefined) {
        const { executionArn } = this.options.targets.startExecution({ stateMachineArn: target.arn, input });
        delivery = { ...base, executionArn };
        const execution = parseExecutionArn(executionArn)?.executionName ?? executionArn;
        this.options.log(`[events] ${label}: ${what} → ${machine} ${execution}`);
      } else if (/^arn:aws[a-z-]*:lambda:/.test(target.arn)) {
        const name = parseFunctionRef(target.arn).name;
        this.options.targets.invokeLambda(target.arn, parseLoosely(input)).catch((err: unknown) =>
          // Lambda retries failed asynchronous invocations twice; locally the failure is only logged.
          this.options.log(`[events] ${label}: ${what} → function ${name} failed: ${(err as Error).message}`),
        );
        delivery = base;
        this.options.log(`[events] ${label}: ${what} → function ${name} (asynchronous)`);
      } else {
        delivery = { ...base, error: `target ${target.arn} is not emulated locally` };
        this.options.log(`[events] ${label}: ${what} → ${target.arn}: not emulated locally, dropped`);
      }
    } catch (err) {
      const message = `${(err as Error).name}: ${(err as Error).message}`;
      delivery = { ...base, error: message };
      this.options.log(`[events] ${label}: ${what} → ${target.arn} failed: ${message}`);
    }
    this.keep(this.delivered, delivery);
    return delivery;
  }

  private keep<T>(list: T[], item: T): void {
    list.push(item);
    const limit = this.options.keep ?? 1000;
    if (list.length > limit) list.splice(0, list.length - limit);
  }
}

/** Bucket and key of an S3 object event. */
function s3Object(event: EventBridgeEvent): { bucket: string; key: string } | undefined {
  if (event.source !== 'aws.s3') return undefined;
  const detail = event.detail as { bucket?: { name?: unknown }; object?: { key?: unknown } } | undefined;
  const bucket = detail?.bucket?.name;
  const key = detail?.object?.key;
  return typeof bucket === 'string' && typeof key === 'string' ? { bucket, key } : undefined;
}

/** JSON text as its value; other text (a non-JSON InputTransformer result) as a string. */
function parseLoosely(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
