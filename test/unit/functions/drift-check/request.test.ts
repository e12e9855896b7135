// The drift check's input: windows cut from a schedule's event time, direct invocations, and a
// clear InvalidRequest naming the field for anything else.
import { describe, expect, it } from 'vitest';
import {
  lastFullWindow,
  parseDriftCheckEvent,
  WindowMinutes,
} from '../../../../functions/drift-check/request.ts';
import { InvalidRequest } from '../../../../functions/lib/errors.ts';

/** A "Scheduled Event" as EventBridge delivers it to a rule's Lambda target. */
const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-27T07:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/TestStack-DriftMonitorSchedule'],
  detail: {},
};
const scheduledAt = (time: string) => ({ ...structuredClone(SCHEDULED_EVENT), time });

const HOURLY = { windowMinutes: 60, delayMinutes: 0, now: new Date('2026-11-27T09:30:00Z') };
const iso = (r: { window: { start: Date; end: Date } }) => [
  r.window.start.toISOString(),
  r.window.end.toISOString(),
];

function invalid(event: unknown, settings = HOURLY): InvalidRequest {
  try {
    parseDriftCheckEvent(event, settings);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequest);
    return err as InvalidRequest;
  }
  throw new Error('expected InvalidRequest');
}

describe('lastFullWindow', () => {
  it('is the previous full hour for an event on the hour or within it', () => {
    for (const time of ['2026-11-27T07:00:00Z', '2026-11-27T07:23:41Z', '2026-11-27T07:59:59.999Z'])
      expect(iso({ window: lastFullWindow(new Date(time), HOURLY) })).toEqual([
        '2026-11-27T06:00:00.000Z',
        '2026-11-27T07:00:00.000Z',
      ]);
  });

  it('leaves the delivery delay after a window before calling it full', () => {
    const window = lastFullWindow(new Date('2026-11-27T07:03:00Z'), { windowMinutes: 60, delayMinutes: 5 });
    expect(iso({ window })).toEqual(['2026-11-27T05:00:00.000Z', '2026-11-27T06:00:00.000Z']);
  });

  it('cuts 15-minute and daily windows on UTC boundaries', () => {
    const t = new Date('2026-11-27T07:44:00Z');
    expect(iso({ window: lastFullWindow(t, { windowMinutes: 15, delayMinutes: 0 }) })).toEqual([
      '2026-11-27T07:15:00.000Z',
      '2026-11-27T07:30:00.000Z',
    ]);
    expect(iso({ window: lastFullWindow(t, { windowMinutes: 1440, delayMinutes: 0 }) })).toEqual([
      '2026-11-26T00:00:00.000Z',
      '2026-11-27T00:00:00.000Z',
    ]);
  });
});

describe('WindowMinutes', () => {
  it('accepts lengths that divide a day or are whole days, and nothing else', () => {
    for (const ok of ['15', '60', '360', '1440', '2880'])
      expect(WindowMinutes.safeParse(ok).success).toBe(true);
    for (const bad of ['7', '0', '100', '2000', '1.5', 'hourly'])
      expect(WindowMinutes.safeParse(bad).success).toBe(false);
  });
});

describe('parseDriftCheckEvent', () => {
  it('checks every model on the last full window before a Scheduled Event', () => {
    const request = parseDriftCheckEvent(scheduledAt('2026-11-27T07:00:00Z'), HOURLY);
    expect(request.model).toBeUndefined();
    expect(iso(request)).toEqual(['2026-11-27T06:00:00.000Z', '2026-11-27T07:00:00.000Z']);
  });

  it('checks the model and window a direct invocation names', () => {
    const request = parseDriftCheckEvent(
      { model: 'flight-delay', window: { start: '2026-11-27T06:00:00Z', end: '2026-11-27T08:00:00+01:00' } },
      HOURLY,
    );
    expect(request.model).toBe('flight-delay');
    expect(iso(request)).toEqual(['2026-11-27T06:00:00.000Z', '2026-11-27T07:00:00.000Z']);
  });

  it('checks the last full window before now when a direct invocation names none', () => {
    for (const event of [null, undefined, {}, { model: 'flight-delay' }])
      expect(iso(parseDriftCheckEvent(event, HOURLY))).toEqual([
        '2026-11-27T08:00:00.000Z',
        '2026-11-27T09:00:00.000Z',
      ]);
  });

  it('fails naming the field of a bad window', () => {
    const err = invalid({ window: { start: 'yesterday', end: '2026-11-27T07:00:00Z' } });
    expect(err.issues).toEqual([{ path: 'window.start', message: expect.any(String) }]);
    expect(err.message).toMatch(/^invalid drift check request: window\.start: /);
    expect(err.name).toBe('InvalidRequest');
  });

  it('fails when the window ends before it starts, spans too long, or is not over yet', () => {
    expect(invalid({ window: { start: '2026-11-27T07:00:00Z', end: '2026-11-27T06:00:00Z' } }).message).toBe(
      'invalid drift check request: window.end: start must be before end',
    );
    expect(invalid({ window: { start: '2026-09-01T00:00:00Z', end: '2026-11-01T00:00:00Z' } }).message).toBe(
      'invalid drift check request: window.end: a window spans at most 31 days',
    );
    const future = invalid({ window: { start: '2026-11-27T09:00:00Z', end: '2026-11-27T10:00:00Z' } });
    expect(future.message).toMatch(/window\.end: 2026-11-27T10:00:00Z is in the future/);
    expect(future.issues).toEqual([{ path: 'window.end', message: 'in the future' }]);
  });

  it('fails on an unknown field or a bad model name', () => {
    expect(invalid({ modle: 'flight-delay' }).issues).toEqual([{ path: 'modle', message: 'unknown field' }]);
    expect(invalid({ model: 'Flight Delay' }).issues).toEqual([
      { path: 'model', message: 'model names are 1-63 lowercase letters, digits or dashes' },
    ]);
    expect(invalid('run it').issues).toEqual([{ path: '(root)', message: expect.any(String) }]);
  });

  it('fails on an EventBridge event that is not a valid Scheduled Event', () => {
    const objectCreated = { ...structuredClone(SCHEDULED_EVENT), 'detail-type': 'Object Created' };
    expect(invalid(objectCreated).message).toMatch(
      /^invalid EventBridge event \(expected a "Scheduled Event"\): detail-type: /,
    );
    const { time: _time, ...timeless } = structuredClone(SCHEDULED_EVENT);
    expect(invalid(timeless).issues).toEqual([{ path: 'time', message: expect.any(String) }]);
  });
});
