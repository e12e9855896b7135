// The local Lambda service: functions, their published versions and aliases (with routing
// weights), resolved from the template. Invocations name a function, version or alias the way
// the Lambda API does (name, `name:qualifier`, or an ARN). Faults can be injected per function,
// so tests and drills see throttles and failures the way callers on AWS would.
import {
  type FunctionConfig,
  FunctionError,
  FunctionRuntime,
  type LogForwarding,
} from './function-runtime.ts';

/** Receives the log lines of every function that contain `marker`. */
export interface LogListener {
  readonly marker: string;
  onLines(
    lines: readonly string[],
    source: { readonly functionName: string; readonly version: string },
  ): void;
}

/** How an invocation ended, as the AWS/Lambda metrics count it. */
export type InvocationOutcome = 'success' | 'error' | 'throttle';

/**
 * Told about every invocation (local CloudWatch turns them into the AWS/Lambda metrics).
 * `qualifier` is the alias or version the caller named (undefined: unqualified); `durationMs`
 * includes a cold start locally.
 */
export interface InvocationMetricsSink {
  onInvocation(
    functionName: string,
    qualifier: string | undefined,
    executedVersion: string,
    outcome: InvocationOutcome,
    durationMs: number,
  ): void;
}

/** `live` → version "1" plus, during a canary, version "2" at weight 0.05. */
export interface AliasRouting {
  readonly functionName: string;
  readonly version: string;
  readonly additionalVersions: ReadonlyArray<{ readonly version: string; readonly weight: number }>;
}

/**
 * A failure `invoke` answers instead of running the handler: `throttle` is Lambda's 429
 * (`TooManyRequestsException`), `error` a handler failure with that Lambda error payload.
 */
export type InjectedFault =
  | { readonly kind: 'throttle' }
  | { readonly kind: 'error'; readonly errorType: string; readonly errorMessage: string };

/** Split a function reference into name and qualifier (version or alias). */
export function parseFunctionRef(ref: string): { name: string; qualifier?: string } {
  const arn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::([^:]+))?$/.exec(ref);
  if (arn?.[1]) return { name: arn[1], ...(arn[2] ? { qualifier: arn[2] } : {}) };
  const [name = ref, qualifier] = ref.split(':');
  return { name, ...(qualifier ? { qualifier } : {}) };
}

export class LambdaService {
  private readonly configs = new Map<string, FunctionConfig>();
  private readonly versions = new Map<string, Set<string>>();
  private readonly aliases = new Map<string, AliasRouting>();
  private readonly runtimes = new Map<string, FunctionRuntime>();
  /** Function name → the fault its invocations get, and how many more (undefined: all). */
  private readonly faults = new Map<string, { fault: InjectedFault; remaining: number | undefined }>();

  private metricsSink: InvocationMetricsSink | undefined;

  private readonly logListeners: LogListener[] = [];
  /** Shared by every runtime; environments read the markers when they start. */
  private readonly logForwarding: LogForwarding = {
    markers: [],
    onLines: (lines, source) => {
      for (const listener of this.logListeners) {
        const matching = lines.filter((line) => line.includes(listener.marker));
        if (matching.length === 0) continue;
        try {
          listener.onLines(matching, source);
        } catch {
          // A listener's failure is its own: the function and the other listeners go on.
        }
      }
    },
  };

  /** @param random routing draw in [0, 1); seedable so tests can check splits. */
  constructor(private readonly random: () => number = Math.random) {}

  /**
   * Hand log lines containing `listener.marker` to it, from every function (local CloudWatch
   * Logs: embedded metrics, subscription filters). Add listeners before the first invocation:
   * environments already running keep the markers they started with.
   */
  addLogListener(listener: LogListener): void {
    this.logListeners.push(listener);
    (this.logForwarding.markers as string[]).push(listener.marker);
  }

  /** Report every invocation to `sink` (one at most; undefined removes it). */
  setMetricsSink(sink: InvocationMetricsSink | undefined): void {
    this.metricsSink = sink;
  }

  addFunction(config: FunctionConfig): void {
    this.configs.set(config.functionName, config);
    this.versions.set(config.functionName, new Set(['$LATEST']));
  }

  /** Record a published version (its code and configuration equal the function's here). */
  addVersion(functionName: string, version: string): void {
    this.versions.get(functionName)?.add(version);
  }

  setAlias(aliasName: string, routing: AliasRouting): void {
    this.aliases.set(`${routing.functionName}:${aliasName}`, routing);
  }

  getAlias(functionName: string, aliasName: string): AliasRouting | undefined {
    return this.aliases.get(`${functionName}:${aliasName}`);
  }

  functionNames(): string[] {
    return [...this.configs.keys()];
  }

  hasFunction(name: string): boolean {
    return this.configs.has(name);
  }

  /** The version an invocation of `ref` runs, drawing against alias weights. */
  resolveVersion(ref: string): { name: string; version: string } {
    const { name, qualifier = '$LATEST' } = parseFunctionRef(ref);
    if (!this.configs.has(name)) throw new ResourceNotFound(`Function not found: ${name}`);
    const alias = this.aliases.get(`${name}:${qualifier}`);
    if (!alias) {
      if (!this.versions.get(name)?.has(qualifier))
        throw new ResourceNotFound(`Function not found: ${name}:${qualifier}`);
      return { name, version: qualifier };
    }
    let draw = this.random();
    for (const extra of alias.additionalVersions) {
      if (draw < extra.weight) return { name, version: extra.version };
      draw -= extra.weight;
    }
    return { name, version: alias.version };
  }

  /** Invoke synchronously; rejects with FunctionError when the handler fails. */
  async invoke(
    ref: string,
    event: unknown,
    requestId?: string,
  ): Promise<{ version: string; result: unknown }> {
    const { name, version } = this.resolveVersion(ref);
    if (this.metricsSink) return this.invokeMeasured(this.metricsSink, ref, name, version, event, requestId);
    if (this.faults.size > 0) this.applyFault(name);
    const result = await this.runtime(name, version).invoke(event, { requestId, invokedArn: ref });
    return { version, result };
  }

  /** `invoke` with its outcome and duration reported to the metrics sink. */
  private async invokeMeasured(
    sink: InvocationMetricsSink,
    ref: string,
    name: string,
    version: string,
    event: unknown,
    requestId: string | undefined,
  ): Promise<{ version: string; result: unknown }> {
    const { qualifier } = parseFunctionRef(ref);
    const started = performance.now();
    let outcome: InvocationOutcome = 'error';
    try {
      if (this.faults.size > 0) this.applyFault(name);
      const result = await this.runtime(name, version).invoke(event, { requestId, invokedArn: ref });
      outcome = 'success';
      return { version, result };
    } catch (err) {
      if (err instanceof TooManyRequestsException) outcome = 'throttle';
      throw err;
    } finally {
      try {
        sink.onInvocation(name, qualifier, version, outcome, performance.now() - started);
      } catch {
        // Metrics never fail an invocation.
      }
    }
  }

  /**
   * Make invocations of `functionName` (a name or ARN; every version and alias) fail with
   * `fault` instead of running: the next `opts.times` invocations, or all of them until
   * `clearFaults()`. A new fault for the same function replaces the previous one.
   */
  injectFault(functionName: string, fault: InjectedFault, opts: { times?: number } = {}): void {
    const { name } = parseFunctionRef(functionName);
    if (!this.configs.has(name)) throw new ResourceNotFound(`Function not found: ${name}`);
    if (opts.times !== undefined && !(Number.isInteger(opts.times) && opts.times > 0))
      throw new RangeError(`times must be a positive integer, got ${opts.times}`);
    this.faults.set(name, { fault, remaining: opts.times });
  }

  /** Remove every injected fault. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Start environments ahead of traffic for every version `ref` can route to. */
  async prewarm(ref: string, count: number): Promise<void> {
    const { name, qualifier = '$LATEST' } = parseFunctionRef(ref);
    const alias = this.aliases.get(`${name}:${qualifier}`);
    const versions = alias ? [alias.version, ...alias.additionalVersions.map((v) => v.version)] : [qualifier];
    await Promise.all(versions.map((v) => this.runtime(name, v).prewarm(count)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((r) => r.close()));
    this.runtimes.clear();
  }

  /** Throw the fault injected for `name`, counting it down; nothing when there is none. */
  private applyFault(name: string): void {
    const entry = this.faults.get(name);
    if (!entry) return;
    if (entry.remaining !== undefined && --entry.remaining <= 0) this.faults.delete(name);
    const { fault } = entry;
    if (fault.kind === 'throttle') throw new TooManyRequestsException('Rate Exceeded.');
    throw new FunctionError({ errorType: fault.errorType, errorMessage: fault.errorMessage }, name);
  }

  private runtime(name: string, version: string): FunctionRuntime {
    const key = `${name}:${version}`;
    let runtime = this.runtimes.get(key);
    if (!runtime) {
      const config = this.configs.get(name);
      if (!config) throw new ResourceNotFound(`Function not found: ${name}`);
      runtime = new FunctionRuntime(config, version, this.logForwarding);
      this.runtimes.set(key, runtime);
    }
    return runtime;
  }
}

/** Lambda's 404 for an unknown function, version or alias. */
export class ResourceNotFound extends Error {
  override readonly name = 'ResourceNotFoundException';
}

/** Lambda's 429: the function's concurrency (here: an injected throttle) refused the invocation. */
export class TooManyRequestsException extends Error {
  override readonly name = 'TooManyRequestsException';
}
