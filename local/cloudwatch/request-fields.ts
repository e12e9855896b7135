// Reading the fields of a CloudWatch API request (JSON 1.0: timestamps as epoch seconds) and
// paging its answer, with the API's errors for what is missing or malformed.
import { invalidNextToken, invalidValue, missingParameter } from './api-errors.ts';
import type { LocalCloudWatch } from './local-cloudwatch.ts';

/** A request's JSON object. */
export type Request = Readonly<Record<string, unknown>>;
/** One API operation: the request in, the response object out (or a CloudWatchApiError). */
export type Operation = (cloudwatch: LocalCloudWatch, request: Request) => unknown;

/** `{ [key]: value }`, or nothing when the value is undefined (for optional fields). */
export const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

/** A string field, undefined when absent; InvalidParameterValue when not a string. */
export function optionalString(r: Request, key: string): string | undefined {
  const value = r[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidValue(`${key} must be a string`);
  return value;
}

/** A non-empty string field; MissingParameter when absent. */
export function requiredString(r: Request, key: string): string {
  const value = optionalString(r, key);
  if (value === undefined || value === '') throw missingParameter(key);
  return value;
}

/** A list-of-strings field, undefined when absent. */
export function optionalStrings(r: Request, key: string): string[] | undefined {
  const value = r[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw invalidValue(`${key} must be a list of strings`);
  return value as string[];
}

/** Epoch ms from the protocol's epoch seconds (or an ISO date). */
export function toTime(value: unknown, key: string): number {
  const ms =
    typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalidValue(`${key} must be a timestamp`);
  return ms;
}

/** A timestamp field as epoch ms, undefined when absent. */
export function optionalTime(r: Request, key: string): number | undefined {
  return r[key] === undefined || r[key] === null ? undefined : toTime(r[key], key);
}

/** A timestamp field as epoch ms; MissingParameter when absent. */
export function requiredTime(r: Request, key: string): number {
  const value = optionalTime(r, key);
  if (value === undefined) throw missingParameter(key);
  return value;
}

/** The page `NextToken`/`MaxRecords` ask for; the token is the offset of the next item. */
export function page<T>(
  all: readonly T[],
  r: Request,
  defaultSize: number,
  maxSize: number,
  sized = true,
): { items: T[]; nextToken: { NextToken?: string } } {
  const size = !sized || r.MaxRecords === undefined ? defaultSize : Number(r.MaxRecords);
  if (!Number.isInteger(size) || size < 1 || size > maxSize)
    throw invalidValue(`MaxRecords must be an integer from 1 to ${maxSize}`);
  let start = 0;
  if (r.NextToken !== undefined && r.NextToken !== null) {
    start = Number(Buffer.from(String(r.NextToken), 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0 || start > all.length) throw invalidNextToken(r.NextToken);
  }
  const end = start + size;
  return {
    items: all.slice(start, end),
    nextToken: end < all.length ? { NextToken: Buffer.from(String(end)).toString('base64url') } : {},
  };
}
