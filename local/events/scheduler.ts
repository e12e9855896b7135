// The local EventBridge scheduler: fires every enabled schedule rule at each of its fire times
// (one unref'd timer per rule, re-armed after each firing), handing the rule and the scheduled
// time to the router, which sends the targets the "Scheduled Event" EventBridge sends. Demos
// and tests drive it without waiting: `manual` mode arms no timers, `speed` runs its clock
// faster than real time. Missed fire times (a laptop asleep) are skipped, as EventBridge
// never fires a rule twice to catch up.
import { randomUUID } from 'node:crypto';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';
import type { EventRule } from './event-rules.ts';
import type { EventBridgeEvent } from './s3-events.ts';
import { nextFireTime } from './schedule-expression.ts';

/** How schedule rules fire locally (PlatformOptions.schedules). */
export interface ScheduleSettings {
  /**
   * `timers`: each enabled schedule rule fires by itself at its fire times. `manual`: nothing
   * fires unless asked (`platform.events.runSchedule(rule)`), for tests and demos.
   * @default 'timers'
   */
  readonly mode?: 'timers' | 'manual';
  /**
   * How many times faster than real time the schedule clock runs, from the moment schedules
   * start: at 60 an hourly rule fires every real minute. Event times are on that clock.
   * @default 1
   */
  readonly speed?: number;
}

/** One armed schedule: what fires next. */
export interface UpcomingFiring {
  /** The rule's logical id. */
  readonly rule: string;
  readonly name: string;
  readonly expression: string;
  /** On the schedule clock (see `speed`). */
  readonly next: Date;
}

export interface LocalSchedulerOptions extends ScheduleSettings {
  /** Send the scheduled event of `rule` for fire time `at`. Must not throw. */
  readonly fire: (rule: EventRule, at: Date) => void;
  readonly log: (line: string) => void;
}

/** Node's longest timer; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The "Scheduled Event" EventBridge sends a schedule rule's targets for fire time `at`. */
export function scheduledEvent(rule: EventRule, at: Date, id: string = randomUUID()): EventBridgeEvent {
  return {
    version: '0',
    id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: `${at.toISOString().slice(0, 19)}Z`,
    region: DEFAULT_LOCAL_REGION,
    resources: [rule.arn],
    detail: {},
  };
}

/** Whether `event` is a schedule rule's event (for how deliveries are logged). */
export function isScheduledEvent(event: EventBridgeEvent): boolean {
  return event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event';
}

export class LocalScheduler {
  private readonly rules = new Map<string, EventRule>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly upcomingByRule = new Map<string, UpcomingFiring>();
  /** Rate schedules count their periods from here (schedule clock ms), per rule. */
  private readonly rateStarts = new Map<string, number>();
  /** Real ms when schedules started; the schedule clock equals real time there. */
  private origin: number | undefined;
  private stopped = false;
  private readonly speed: number;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0) || !Number.isFinite(this.speed))
      throw new RangeError(`schedules.speed must be a positive number, not ${options.speed}`);
  }

  /** Take `rule` (a rule with a schedule); an enabled one is armed once schedules start. */
  add(rule: EventRule): void {
    if (!rule.schedule) throw new Error(`rule ${rule.logicalId} has no schedule`);
    this.rules.set(rule.logicalId, rule);
    if (this.origin !== undefined) this.arm(rule);
  }

  /** Arm every enabled rule (in `timers` mode); rate schedules count from now. */
  start(): void {
    if (this.origin !== undefined || this.stopped) return;
    this.origin = Date.now();
    for (const rule of this.rules.values()) this.arm(rule);
  }

  /** Clear every timer; nothing fires afterwards. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.upcomingByRule.clear();
  }

  /** Now on the schedule clock: real time, or faster from the start when `speed` > 1. */
  now(): Date {
    const real = Date.now();
    return new Date(this.origin === undefined ? real : this.origin + (real - this.origin) * this.speed);
  }

  /** The next firing of each armed rule, soonest first (none in `manual` mode). */
  upcoming(): UpcomingFiring[] {
    return [...this.upcomingByRule.values()].sort((a, b) => a.next.getTime() - b.next.getTime());
  }

  private arm(rule: EventRule, after: Date = this.now()): void {
    const { schedule } = rule;
    if (this.stopped || !rule.enabled || !schedule || this.options.mode === 'manual') return;
    if (!this.rateStarts.has(rule.logicalId)) this.rateStarts.set(rule.logicalId, after.getTime());
    const next = nextFireTime(schedule, after, {
      rule: rule.logicalId,
      start: new Date(this.rateStarts.get(rule.logicalId) ?? after.getTime()),
    });
    if (next === undefined) {
      this.upcomingByRule.delete(rule.logicalId);
      this.options.log(`[events] ${rule.logicalId} (schedule): ${schedule.expression} never fires again`);
      return;
    }
    this.upcomingByRule.set(rule.logicalId, {
      rule: rule.logicalId,
      name: rule.name,
      expression: schedule.expression,
      next,
    });
    this.wait(rule, next);
  }

  private wait(rule: EventRule, due: Date): void {
    const realMs = (due.getTime() - this.now().getTime()) / this.speed;
    const timer = setTimeout(
      () => {
        this.timers.delete(rule.logicalId);
        if (this.stopped) return;
        // A timer may wake a little early, and long waits are taken in steps.
        const now = this.now();
        if (now < due) return this.wait(rule, due);
        try {
          this.options.fire(rule, due);
        } catch (err) {
          this.options.log(`[events] ${rule.logicalId} (schedule): failed: ${(err as Error).message}`);
        }
        this.arm(rule, now);
      },
      Math.min(Math.max(0, Math.ceil(realMs)), MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.set(rule.logicalId, timer);
  }
}
