// Faults injected into local invocations (tests and drills): per function, or per version so
// that only the invocations an alias resolved to that version fail, as a bad release would.
import { TooManyRequestsException } from './errors.ts';
import { FunctionError } from './function-runtime.ts';

/**
 * A failure an invocation answers instead of running the handler: `throttle` is Lambda's 429
 * (`TooManyRequestsException`), `error` a handler failure with that Lambda error payload.
 */
export type InjectedFault =
  | { readonly kind: 'throttle' }
  | { readonly kind: 'error'; readonly errorType: string; readonly errorMessage: string };

/** The faults in force, by function (`name`) or version (`name:version`). */
export class FaultTable {
  /** Target → the fault, and how many more invocations get it (undefined: all). */
  private readonly faults = new Map<string, { fault: InjectedFault; remaining: number | undefined }>();

  get size(): number {
    return this.faults.size;
  }

  /** `times` invocations of `name` (every version) or of `name:version` get `fault`; replaces. */
  set(name: string, version: string | undefined, fault: InjectedFault, times: number | undefined): void {
    if (times !== undefined && !(Number.isInteger(times) && times > 0))
      throw new RangeError(`times must be a positive integer, got ${times}`);
    this.faults.set(version === undefined ? name : `${name}:${version}`, { fault, remaining: times });
  }

  clear(): void {
    this.faults.clear();
  }

  /** Throw the fault in force for this version (else for the function), counting it down. */
  apply(name: string, version: string): void {
    const versionKey = `${name}:${version}`;
    const key = this.faults.has(versionKey) ? versionKey : name;
    const entry = this.faults.get(key);
    if (!entry) return;
    if (entry.remaining !== undefined && --entry.remaining <= 0) this.faults.delete(key);
    const { fault } = entry;
    if (fault.kind === 'throttle') throw new TooManyRequestsException('Rate Exceeded.');
    throw new FunctionError({ errorType: fault.errorType, errorMessage: fault.errorMessage }, name);
  }
}
