// EventBridge rule schedules: `rate(…)` and AWS's six-field `cron(…)`, parsed and evaluated in
// UTC (rules have no time zone). Anything EventBridge documents for rules is accepted; anything
// else is refused with a `ScheduleExpressionError` naming the rule, so the start-up report can
// list the rule as not emulated rather than run it on a guess.

/** `rate(N unit)`: every `periodMs`, counted from when the schedule starts. */
export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  readonly periodMs: number;
}

/** `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, each field resolved. */
export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number>;
  readonly dayOfMonth: DayOfMonth;
  readonly dayOfWeek: DayOfWeek;
}

/** Day-of-month: `?`, a set of days, `L` (last day), `nW` (weekday nearest n), `LW` (last weekday). */
export type DayOfMonth =
  | { readonly kind: 'any' }
  | { readonly kind: 'days'; readonly days: ReadonlySet<number> }
  | { readonly kind: 'last' }
  | { readonly kind: 'nearestWeekday'; readonly day: number }
  | { readonly kind: 'lastWeekday' };

/** Day-of-week (1 = SUN … 7 = SAT): `?`, a set of days, `dL` (last d of the month), `d#n` (n-th d). */
export type DayOfWeek =
  | { readonly kind: 'any' }
  | { readonly kind: 'days'; readonly days: ReadonlySet<number> }
  | { readonly kind: 'last'; readonly day: number }
  | { readonly kind: 'nth'; readonly day: number; readonly n: number };

export type Schedule = RateSchedule | CronSchedule;

/** A schedule expression EventBridge would refuse, or one the local scheduler cannot run. */
export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
  constructor(
    /** The expression as written. */
    readonly expression: string,
    /** What is wrong with it, e.g. `Day-of-week "8" is not in 1–7 or SUN–SAT`. */
    readonly problem: string,
    /** The rule (logical id or name) it belongs to, when known. */
    readonly rule?: string,
  ) {
    super(`${rule === undefined ? '' : `rule ${rule}: `}schedule ${expression}: ${problem}`);
  }
}

/** Cron years EventBridge accepts; also the horizon of the search for the next fire time. */
const FIRST_YEAR = 1970;
const LAST_YEAR = 2199;

const RATE_UNITS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names of min, min+1, … (JAN…, SUN…). */
  readonly names?: readonly string[];
  /** Whether a range may wrap past max (FRI-MON, 22-2). */
  readonly wraps: boolean;
}

const MINUTES: Field = { name: 'Minutes', min: 0, max: 59, wraps: true };
const HOURS: Field = { name: 'Hours', min: 0, max: 23, wraps: true };
const DAY_OF_MONTH: Field = { name: 'Day-of-month', min: 1, max: 31, wraps: true };
const MONTH: Field = {
  name: 'Month',
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  wraps: true,
};
const DAY_OF_WEEK: Field = {
  name: 'Day-of-week',
  min: 1,
  max: 7,
  names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
  wraps: true,
};
const YEAR: Field = { name: 'Year', min: FIRST_YEAR, max: LAST_YEAR, wraps: false };

/**
 * Parse `expression` (a rule's ScheduleExpression). Throws a `ScheduleExpressionError` naming
 * `rule` and what is wrong.
 */
export function parseScheduleExpression(expression: string, rule?: string): Schedule {
  const fail = (problem: string): never => {
    throw new ScheduleExpressionError(expression, problem, rule);
  };
  const call = /^(\w+)\((.*)\)$/s.exec(expression.trim());
  if (!call) return fail('not rate(…) or cron(…)');
  const [, kind, body = ''] = call;
  if (kind === 'rate') return { kind: 'rate', expression, periodMs: parseRate(body, fail) };
  if (kind === 'cron') return { kind: 'cron', expression, ...parseCron(body, fail) };
  if (kind === 'at')
    return fail('at(…) is a one-time schedule of EventBridge Scheduler, not of an EventBridge rule');
  return fail(`unknown schedule kind "${kind}": rules take rate(…) or cron(…)`);
}

/**
 * The first fire time of `schedule` strictly after `after`, or undefined when it never fires
 * again (a cron whose years are past, or a day that never comes, such as 30 February). Cron
 * fires on whole minutes. A rate fires every period after `start` (when the rule was created;
 * @default `after`, so the answer is one period later).
 */
export function nextFireTime(
  schedule: string | Schedule,
  after: Date,
  options: { readonly rule?: string; readonly start?: Date } = {},
): Date | undefined {
  const parsed = typeof schedule === 'string' ? parseScheduleExpression(schedule, options.rule) : schedule;
  const from = after.getTime();
  if (Number.isNaN(from)) throw new RangeError('nextFireTime: `after` is not a valid date');
  if (parsed.kind === 'rate') {
    const start = options.start?.getTime() ?? from;
    const periods = Math.max(1, Math.floor((from - start) / parsed.periodMs) + 1);
    return new Date(start + periods * parsed.periodMs);
  }
  return nextCronTime(parsed, from);
}

function parseRate(body: string, fail: (problem: string) => never): number {
  const match = /^(\d+) ([a-z]+)$/.exec(body);
  const unit = match?.[2] ?? '';
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  const ms = RATE_UNITS[singular];
  if (!match || ms === undefined)
    return fail('a rate is rate(1 minute), rate(N minutes), rate(N hours) or rate(N days)');
  const value = Number(match[1]);
  if (value < 1) return fail('the rate value must be a positive whole number');
  // EventBridge refuses rate(1 minutes) and rate(5 minute).
  if ((value === 1) !== (unit === singular))
    return fail(`the unit must be ${value === 1 ? `"${singular}" for 1` : `"${singular}s" for ${value}`}`);
  return value * ms;
}

function parseCron(
  body: string,
  fail: (problem: string) => never,
): Omit<CronSchedule, 'kind' | 'expression'> {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6)
    return fail(
      `cron takes 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got ${body.trim() ? fields.length : 0}`,
    );
  const [minutes = '', hours = '', dom = '', month = '', dow = '', year = ''] = fields;
  if ((dom === '?') === (dow === '?')) return fail('exactly one of Day-of-month and Day-of-week must be "?"');
  return {
    minutes: [...parseSet(minutes, MINUTES, fail)].sort((a, b) => a - b),
    hours: [...parseSet(hours, HOURS, fail)].sort((a, b) => a - b),
    months: parseSet(month, MONTH, fail),
    years: parseSet(year, YEAR, fail),
    dayOfMonth: parseDayOfMonth(dom, fail),
    dayOfWeek: parseDayOfWeek(dow, fail),
  };
}

function parseDayOfMonth(text: string, fail: (problem: string) => never): DayOfMonth {
  const upper = text.toUpperCase();
  if (upper === '?') return { kind: 'any' };
  if (upper === 'L') return { kind: 'last' };
  if (upper === 'LW') return { kind: 'lastWeekday' };
  const weekday = /^(\d+)W$/.exec(upper);
  if (weekday) return { kind: 'nearestWeekday', day: value(weekday[1] ?? '', DAY_OF_MONTH, fail) };
  if (/[LW]/.test(upper))
    return fail(`Day-of-month "${text}": L and W are used as L, LW or nW (a day, e.g. 15W), alone`);
  return { kind: 'days', days: parseSet(text, DAY_OF_MONTH, fail) };
}

function parseDayOfWeek(text: string, fail: (problem: string) => never): DayOfWeek {
  const upper = text.toUpperCase();
  if (upper === '?') return { kind: 'any' };
  // `L` alone is the last day of the week (SAT), as in Quartz, whose syntax EventBridge follows.
  if (upper === 'L') return { kind: 'days', days: new Set([7]) };
  const last = /^(\w+)L$/.exec(upper);
  if (last) return { kind: 'last', day: value(last[1] ?? '', DAY_OF_WEEK, fail) };
  const nth = /^(\w+)#(\d+)$/.exec(upper);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) return fail(`Day-of-week "${text}": the n of d#n is 1 to 5`);
    return { kind: 'nth', day: value(nth[1] ?? '', DAY_OF_WEEK, fail), n };
  }
  if (/[L#]/.test(upper))
    return fail(`Day-of-week "${text}": L and # are used as L, dL (e.g. 6L) or d#n (e.g. 6#3), alone`);
  return { kind: 'days', days: parseSet(text, DAY_OF_WEEK, fail) };
}

/** A field of `*`, values, ranges and increments, separated by commas. */
function parseSet(text: string, field: Field, fail: (problem: string) => never): ReadonlySet<number> {
  if (text === '?') return fail(`${field.name}: "?" is only for Day-of-month or Day-of-week`);
  const set = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!match) return fail(`${field.name} "${text}": "${item}" is not a value, range or increment`);
    const [, span = '', stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) return fail(`${field.name} "${text}": an increment must be at least 1`);
    let first: number;
    let last: number;
    if (span === '*') [first, last] = [field.min, field.max];
    else if (span.includes('-')) {
      const [from = '', to = '', ...rest] = span.split('-');
      if (rest.length > 0) return fail(`${field.name} "${text}": "${span}" is not a range`);
      [first, last] = [value(from, field, fail), value(to, field, fail)];
      if (first > last && !field.wraps)
        return fail(`${field.name} "${text}": the range ${span} runs backwards`);
    } else {
      first = value(span, field, fail);
      // `a/n` runs from a to the end of the field.
      last = stepText === undefined ? first : field.max;
    }
    const size = field.max - field.min + 1;
    const count = (last - first + size) % size;
    for (let i = 0; i <= count; i += step) set.add(field.min + ((first - field.min + i) % size));
  }
  return set;
}

function value(text: string, field: Field, fail: (problem: string) => never): number {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  const n = named >= 0 ? field.min + named : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(n) || n < field.min || n > field.max) {
    const names = field.names ? ` or ${field.names[0]}–${field.names.at(-1)}` : '';
    return fail(`${field.name} "${text}" is not in ${field.min}–${field.max}${names}`);
  }
  return n;
}

function nextCronTime(cron: CronSchedule, after: number): Date | undefined {
  const start = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let fromMinute = start.getUTCHours() * 60 + start.getUTCMinutes();
  const nextMonth = () => {
    month += 1;
    if (month > 12) [year, month] = [year + 1, 1];
    [day, fromMinute] = [1, 0];
  };
  while (year <= LAST_YEAR) {
    if (!cron.years.has(year)) {
      [year, month, day, fromMinute] = [year + 1, 1, 1, 0];
    } else if (!cron.months.has(month) || day > daysInMonth(year, month)) {
      nextMonth();
    } else {
      if (dayMatches(cron, year, month, day)) {
        const minute = firstMinute(cron, fromMinute);
        if (minute !== undefined)
          return new Date(Date.UTC(year, month - 1, day, Math.floor(minute / 60), minute % 60));
      }
      [day, fromMinute] = [day + 1, 0];
    }
  }
  return undefined;
}

/** The first minute of the day (0–1439) at or after `from` that the hours and minutes allow. */
function firstMinute(cron: CronSchedule, from: number): number | undefined {
  for (const hour of cron.hours) {
    if ((hour + 1) * 60 <= from) continue;
    for (const minute of cron.minutes) if (hour * 60 + minute >= from) return hour * 60 + minute;
  }
  return undefined;
}

function dayMatches(cron: CronSchedule, year: number, month: number, day: number): boolean {
  const last = daysInMonth(year, month);
  const weekday = (d: number) => new Date(Date.UTC(year, month - 1, d)).getUTCDay() + 1; // 1 = SUN
  const dom = cron.dayOfMonth;
  switch (dom.kind) {
    case 'days':
      if (!dom.days.has(day)) return false;
      break;
    case 'last':
      if (day !== last) return false;
      break;
    case 'nearestWeekday':
      if (dom.day > last || day !== nearestWeekday(dom.day, last, weekday(dom.day))) return false;
      break;
    case 'lastWeekday':
      if (day !== nearestWeekday(last, last, weekday(last))) return false;
      break;
  }
  const dow = cron.dayOfWeek;
  switch (dow.kind) {
    case 'days':
      return dow.days.has(weekday(day));
    case 'last':
      return weekday(day) === dow.day && day + 7 > last;
    case 'nth':
      return weekday(day) === dow.day && Math.ceil(day / 7) === dow.n;
    default:
      return true;
  }
}

/** The weekday nearest `day` within its month (Quartz's `W`): never crosses into another month. */
function nearestWeekday(day: number, last: number, weekday: number): number {
  if (weekday === 7) return day === 1 ? 3 : day - 1; // Saturday: Friday, or Monday the 3rd
  if (weekday === 1) return day === last ? day - 2 : day + 1; // Sunday: Monday, or Friday
  return day;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
