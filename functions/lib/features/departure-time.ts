// Reads a flight's scheduled departure as local clock time, independent of the host's time zone.

/** A departure time read literally from its digits: no time zone is involved. */
export interface DepartureTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  /** 0 = Monday … 6 = Sunday. */
  readonly weekday: number;
}

/** `YYYY/MM/DD HH:mm` as in the flights data, or ISO `YYYY-MM-DDTHH:mm[:ss]`; no zone suffix. */
const DEPARTURE_PATTERN = /^([1-9]\d{3})([/-])(\d{2})\2(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** What `parseDepartureTime` accepts, for error messages. */
export const DEPARTURE_TIME_FORMAT = '"YYYY/MM/DD HH:mm" or "YYYY-MM-DDTHH:mm", e.g. "2001/01/01 00:47"';

/**
 * Parse a departure time as the origin airport's local clock shows it. A zone suffix such as `Z`
 * is rejected rather than ignored, since it would claim a different instant. The weekday comes
 * from calendar arithmetic in UTC, so the host's TZ cannot shift it. Returns undefined for
 * malformed text and impossible dates such as February 30.
 */
export function parseDepartureTime(text: string): DepartureTime | undefined {
  const m = DEPARTURE_PATTERN.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[3], m[4], m[5], m[6], m[7]].map((digits) =>
    Number(digits ?? 0),
  ) as [number, number, number, number, number, number];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const midnight = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2001-02-30 over to March 2; the round trip catches that.
  if (midnight.getUTCMonth() !== month - 1 || midnight.getUTCDate() !== day) return undefined;
  return { year, month, day, hour, minute, weekday: (midnight.getUTCDay() + 6) % 7 };
}
