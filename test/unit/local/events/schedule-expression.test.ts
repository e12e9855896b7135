// EventBridge schedule expressions: known schedules against calendar facts (all UTC), and the
// expressions EventBridge refuses or the local scheduler cannot run, each failing with the rule.
// Calendar facts used: 2026-11-01 is a Sunday, 2026-08-01 a Saturday, 2026-05-31 a Sunday,
// 2026-02-28 a Saturday, 2024 is a leap year.
import { describe, expect, it } from 'vitest';
import {
  nextFireTime,
  parseScheduleExpression,
  ScheduleExpressionError,
} from '../../../../local/events/schedule-expression.ts';

const at = (iso: string) => new Date(iso);

describe('nextFireTime', () => {
  it.each([
    ['cron(0 * * * ? *)', 'hourly at :00', '2026-11-03T10:15:30Z', '2026-11-03T11:00:00Z'],
    ['cron(0 * * * ? *)', 'strictly after a fire time', '2026-11-03T11:00:00Z', '2026-11-03T12:00:00Z'],
    ['cron(0 * * * ? *)', 'across midnight and a month', '2026-11-30T23:59:59Z', '2026-12-01T00:00:00Z'],
    ['cron(15 10 ? * MON-FRI *)', 'later the same weekday', '2026-11-06T09:00:00Z', '2026-11-06T10:15:00Z'],
    ['cron(15 10 ? * MON-FRI *)', 'over a weekend', '2026-11-06T10:15:00Z', '2026-11-09T10:15:00Z'],
    [
      'cron(15 10 ? * 2-6 *)',
      'weekdays as numbers (1 = SUN)',
      '2026-11-06T10:15:00Z',
      '2026-11-09T10:15:00Z',
    ],
    ['cron(0 18 L * ? *)', 'the last day of a leap February', '2024-02-10T00:00:00Z', '2024-02-29T18:00:00Z'],
    ['cron(0 18 L * ? *)', 'the last day of the next month', '2026-02-28T18:00:00Z', '2026-03-31T18:00:00Z'],
    ['cron(0 10 ? * 6#3 *)', 'the third Friday', '2026-11-01T00:00:00Z', '2026-11-20T10:00:00Z'],
    [
      'cron(0 10 ? * FRI#3 *)',
      "the next month's third Friday",
      '2026-11-20T10:00:00Z',
      '2026-12-18T10:00:00Z',
    ],
    ['cron(0 12 ? * 6L *)', 'the last Friday of the month', '2026-11-01T00:00:00Z', '2026-11-27T12:00:00Z'],
    [
      'cron(0 0 ? * L *)',
      'L alone: the last day of the week (SAT)',
      '2026-11-01T00:00:00Z',
      '2026-11-07T00:00:00Z',
    ],
    [
      'cron(0 8 1W * ? *)',
      'the weekday nearest a Saturday 1st: Monday 3rd',
      '2026-07-15T00:00:00Z',
      '2026-08-03T08:00:00Z',
    ],
    [
      'cron(0 8 LW * ? *)',
      'the last weekday when the month ends on Sunday',
      '2026-05-01T00:00:00Z',
      '2026-05-29T08:00:00Z',
    ],
    [
      'cron(0 8 LW * ? *)',
      'the last weekday when the month ends on Saturday',
      '2026-02-01T00:00:00Z',
      '2026-02-27T08:00:00Z',
    ],
    [
      'cron(0 8 31W * ? *)',
      'nearest weekday, never in another month',
      '2026-05-01T00:00:00Z',
      '2026-05-29T08:00:00Z',
    ],
    ['cron(0/15 * * * ? *)', 'every 15 minutes from :00', '2026-11-03T10:50:00Z', '2026-11-03T11:00:00Z'],
    ['cron(5/20 * * * ? *)', 'every 20 minutes from :05', '2026-11-03T10:26:00Z', '2026-11-03T10:45:00Z'],
    [
      'cron(*/10 9-17 * * ? *)',
      'an increment within a range of hours',
      '2026-11-03T17:55:00Z',
      '2026-11-04T09:00:00Z',
    ],
    ['cron(5,35 14 * * ? *)', 'a list of minutes', '2026-11-03T14:06:00Z', '2026-11-03T14:35:00Z'],
    ['cron(30 9 1 JAN,JUL ? *)', 'month names', '2026-03-01T00:00:00Z', '2026-07-01T09:30:00Z'],
    ['cron(0 0 ? * mon *)', 'names in lower case', '2026-11-03T00:00:00Z', '2026-11-09T00:00:00Z'],
    ['cron(0 9 ? * FRI-MON *)', 'a range of days that wraps', '2026-11-07T09:00:00Z', '2026-11-08T09:00:00Z'],
    ['cron(0 22-2 * * ? *)', 'a range of hours that wraps', '2026-11-03T02:00:00Z', '2026-11-03T22:00:00Z'],
    ['cron(0 0 1 1 ? 2027-2028)', 'a range of years', '2026-11-03T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['cron(0 0 29 2 ? *)', 'the 29th of February', '2025-03-01T00:00:00Z', '2028-02-29T00:00:00Z'],
  ])('%s: %s', (expression, _, after, expected) => {
    expect(nextFireTime(expression, at(after))?.toISOString()).toBe(at(expected).toISOString());
  });

  it.each([
    ['cron(0 0 1 1 ? 2020)', 'its years are past'],
    ['cron(0 0 30 2 ? *)', 'February has no 30th'],
  ])('is undefined for %s: %s', (expression) => {
    expect(nextFireTime(expression, at('2026-11-03T00:00:00Z'))).toBeUndefined();
  });

  it.each([
    ['rate(1 minute)', '2026-11-03T10:01:30Z'],
    ['rate(5 minutes)', '2026-11-03T10:05:30Z'],
    ['rate(2 hours)', '2026-11-03T12:00:30Z'],
    ['rate(1 day)', '2026-11-04T10:00:30Z'],
  ])('fires %s one period after the time asked about, by default', (expression, expected) => {
    expect(nextFireTime(expression, at('2026-11-03T10:00:30Z'))?.toISOString()).toBe(
      at(expected).toISOString(),
    );
  });

  it('counts a rate from when the schedule started', () => {
    const start = at('2026-11-03T10:00:30Z');

    const next = (after: string) => nextFireTime('rate(5 minutes)', at(after), { start })?.toISOString();

    expect(next('2026-11-03T10:00:30Z')).toBe('2026-11-03T10:05:30.000Z');
    expect(next('2026-11-03T10:07:00Z')).toBe('2026-11-03T10:10:30.000Z');
    expect(next('2026-11-03T10:10:30Z')).toBe('2026-11-03T10:15:30.000Z');
  });

  it('takes a parsed schedule as well as its text', () => {
    const schedule = parseScheduleExpression('cron(0 * * * ? *)');

    expect(nextFireTime(schedule, at('2026-11-03T10:15:00Z'))?.toISOString()).toBe(
      '2026-11-03T11:00:00.000Z',
    );
  });
});

describe('parseScheduleExpression', () => {
  it.each([
    ['cron(0 * * * *)', 'cron takes 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got 5'],
    ['cron(0 * * * * *)', 'exactly one of Day-of-month and Day-of-week must be "?"'],
    ['cron(0 * ? * ? *)', 'exactly one of Day-of-month and Day-of-week must be "?"'],
    ['cron(60 * * * ? *)', 'Minutes "60" is not in 0–59'],
    ['cron(0 24 * * ? *)', 'Hours "24" is not in 0–23'],
    ['cron(0 10 ? * 8 *)', 'Day-of-week "8" is not in 1–7 or SUN–SAT'],
    ['cron(0 10 ? FEBRUARY * *)', 'Month "FEBRUARY" is not in 1–12 or JAN–DEC'],
    ['cron(0 0 1 1 ? 1969)', 'Year "1969" is not in 1970–2199'],
    ['cron(0 0 1 1 ? 2030-2027)', 'Year "2030-2027": the range 2030-2027 runs backwards'],
    ['cron(*/0 * * * ? *)', 'Minutes "*/0": an increment must be at least 1'],
    ['cron(0 ? * * ? *)', 'Hours: "?" is only for Day-of-month or Day-of-week'],
    ['cron(0 10 ? * 6#6 *)', 'Day-of-week "6#6": the n of d#n is 1 to 5'],
    [
      'cron(0 10 ? * 6#3,2#1 *)',
      'Day-of-week "6#3,2#1": L and # are used as L, dL (e.g. 6L) or d#n (e.g. 6#3), alone',
    ],
    ['cron(0 10 L-3 * ? *)', 'Day-of-month "L-3": L and W are used as L, LW or nW (a day, e.g. 15W), alone'],
    ['cron(0 10 1,L * ? *)', 'Day-of-month "1,L": L and W are used as L, LW or nW (a day, e.g. 15W), alone'],
    ['cron(0 10 1-5-7 * ? *)', 'Day-of-month "1-5-7": "1-5-7" is not a range'],
    ['rate(1 minutes)', 'the unit must be "minute" for 1'],
    ['rate(5 minute)', 'the unit must be "minutes" for 5'],
    ['rate(0 minutes)', 'the rate value must be a positive whole number'],
    ['rate(30 seconds)', 'a rate is rate(1 minute), rate(N minutes), rate(N hours) or rate(N days)'],
    ['rate(1.5 hours)', 'a rate is rate(1 minute), rate(N minutes), rate(N hours) or rate(N days)'],
    [
      'at(2026-11-03T10:00:00)',
      'at(…) is a one-time schedule of EventBridge Scheduler, not of an EventBridge rule',
    ],
    ['every 5 minutes', 'not rate(…) or cron(…)'],
  ])('fails for %s: %s', (expression, problem) => {
    expect(() => parseScheduleExpression(expression, 'DriftCheckSchedule')).toThrow(
      new ScheduleExpressionError(expression, problem, 'DriftCheckSchedule'),
    );
  });

  it('fails with a message naming the rule, the expression and the problem', () => {
    expect(() => parseScheduleExpression('cron(0 10 ? * 8 *)', 'DriftCheckSchedule')).toThrow(
      'rule DriftCheckSchedule: schedule cron(0 10 ? * 8 *): Day-of-week "8" is not in 1–7 or SUN–SAT',
    );
  });

  it('resolves each cron field', () => {
    expect(parseScheduleExpression('cron(0/20 9-11 ? JAN-MAR MON-FRI 2027)')).toEqual({
      kind: 'cron',
      expression: 'cron(0/20 9-11 ? JAN-MAR MON-FRI 2027)',
      minutes: [0, 20, 40],
      hours: [9, 10, 11],
      months: new Set([1, 2, 3]),
      years: new Set([2027]),
      dayOfMonth: { kind: 'any' },
      dayOfWeek: { kind: 'days', days: new Set([2, 3, 4, 5, 6]) },
    });
  });

  it('reads a rate as its period', () => {
    expect(parseScheduleExpression('rate(3 hours)')).toEqual({
      kind: 'rate',
      expression: 'rate(3 hours)',
      periodMs: 3 * 3_600_000,
    });
  });
});
