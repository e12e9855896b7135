// Test support: narrow a value the test expects to exist, failing with what was missing.

/** `value`, or a thrown error naming `what` when it is undefined. */
export function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what}`);
  return value;
}
