import { afterEach, describe, expect, it } from 'vitest';
import { parseDepartureTime } from '../../../../../functions/lib/features/departure-time.ts';

const MONDAY = 0;
const SATURDAY = 5;
const SUNDAY = 6;

describe('parseDepartureTime', () => {
  const originalTz = process.env.TZ;
  afterEach(() => {
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  });

  it('reads the flights format literally: 2001/01/01 was a Monday', () => {
    expect(parseDepartureTime('2001/01/01 00:47')).toEqual({
      year: 2001,
      month: 1,
      day: 1,
      hour: 0,
      minute: 47,
      weekday: MONDAY,
    });
  });

  it('accepts ISO local date-times, with or without seconds', () => {
    expect(parseDepartureTime('2001-03-31T22:27')).toMatchObject({
      month: 3,
      day: 31,
      hour: 22,
      weekday: SATURDAY,
    });
    expect(parseDepartureTime('2001-03-31T22:27:59')).toMatchObject({ minute: 27, weekday: SATURDAY });
  });

  it('gives the same weekday in every host time zone, at both ends of the day', () => {
    const cases = ['2001/01/07 00:00', '2001/01/07 23:59', '2001/01/01 00:47'];
    const results = ['UTC', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Los_Angeles'].map((tz) => {
      process.env.TZ = tz;
      return cases.map((text) => parseDepartureTime(text)?.weekday);
    });
    for (const weekdays of results) expect(weekdays).toEqual([SUNDAY, SUNDAY, MONDAY]);
  });

  it('knows leap years', () => {
    expect(parseDepartureTime('2000/02/29 12:00')?.weekday).toBe(1); // a Tuesday
    expect(parseDepartureTime('2001/02/29 12:00')).toBeUndefined();
  });

  it.each([
    ['an impossible day', '2001/02/30 10:00'],
    ['month 13', '2001/13/01 10:00'],
    ['hour 24', '2001/01/01 24:00'],
    ['minute 60', '2001/01/01 10:60'],
    ['a zone suffix, which would name another instant', '2001-01-01T10:00Z'],
    ['day-first order', '01/01/2001 10:00'],
    ['mixed separators', '2001/01-01 10:00'],
    ['a missing time', '2001/01/01'],
    ['an empty string', ''],
  ])('rejects %s', (_, text) => {
    expect(parseDepartureTime(text)).toBeUndefined();
  });
});
