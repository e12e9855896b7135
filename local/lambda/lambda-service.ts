// The local Lambda service: functions, their published versions (each with its own code and
// configuration snapshot) and aliases with routing weights, first as the template declares
// them, then as the Lambda API changes them (UpdateFunctionConfiguration, PublishVersion,
// UpdateAlias …), kept across restarts in `<dataDir>/lambda/state.json`. Invocations name a
// function, version or alias the way the Lambda API does (name, `name:qualifier`, or an ARN);
// an alias is drawn per invocation, so a change applies from the next request while those in
// flight finish on the version they started on. Faults can be injected per function or per
// version, so tests and drills see throttles and failures the way callers on AWS would.
import {
  type AliasChange,
  type AliasChangeCause,
  type AliasRouting,
  drawVersion,
  routedVersions,
} from './alias-routing.ts';
import { InvalidParameterValueException, ResourceNotFound, TooManyRequestsException } from './errors.ts';
import { FaultTable, type InjectedFault } from './fault-injection.ts';
import {
  type ConfigurationUpdate,
  type FunctionMetadata,
  runtimeConfig,
  type VersionConfiguration,
} from './function-configuration.ts';
import {
  type FunctionConfig,
  FunctionError,
  FunctionRuntime,
  type LogForwarding,
} from './function-runtime.ts';
import {
  type AliasEntry,
  type AliasUpdate,
  FunctionVersions,
  type NewAlias,
  type PublishOptions,
} from './function-versions.ts';
import { readState, restoreFunction, writeState } from './lambda-state.ts';

export type { AliasChange, AliasRouting } from './alias-routing.ts';
export { ResourceNotFound, TooManyRequestsException } from './errors.ts';
export type { InjectedFault } from './fault-injection.ts';

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

/** A function version as the Lambda API answers for it. */
export interface FunctionView {
  readonly functionName: string;
  /** What the function ARN is qualified with in the answer (undefined: the unqualified ARN). */
  readonly arnQualifier: string | undefined;
  readonly config: VersionConfiguration;
}

export interface LambdaServiceOptions {
  /** Where restore notes and failed asynchronous invocations are logged. @default nothing */
  readonly log?: (line: string) => void;
}

/**
 * Split a function reference into name and qualifier (version or alias): a name, `name:qualifier`,
 * a full ARN or a partial one (`123456789012:function:name[:qualifier]`).
 */
export function parseFunctionRef(ref: string): { name: string; qualifier?: string } {
  const arn = /^(?:arn:[^:]+:lambda:[^:]*:)?\d{12}:function:([^:]+)(?::([^:]+))?$/.exec(ref);
  if (arn?.[1]) return { name: arn[1], ...(arn[2] ? { qualifier: arn[2] } : {}) };
  const full = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::([^:]+))?$/.exec(ref);
  if (full?.[1]) return { name: full[1], ...(full[2] ? { qualifier: full[2] } : {}) };
  const [name = ref, qualifier] = ref.split(':');
  return { name, ...(qualifier ? { qualifier } : {}) };
}

/** The version an invocation runs, and how the caller named it. */
interface Target {
  readonly name: string;
  readonly version: string;
  readonly qualifier: string | undefined;
}

export class LambdaService {
  private readonly functions = new Map<string, FunctionVersions>();
  /** `name:version` → its execution environments. */
  private readonly runtimes = new Map<string, FunctionRuntime>();
  /** Runtimes of replaced configurations, finishing what they were given. */
  private readonly retiring = new Set<FunctionRuntime>();
  private readonly faults = new FaultTable();
  private readonly aliasListeners: Array<(change: AliasChange) => void> = [];
  private readonly log: (line: string) => void;
  private stateFile: string | undefined;

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
  constructor(
    private readonly random: () => number = Math.random,
    options: LambdaServiceOptions = {},
  ) {
    this.log = options.log ?? (() => undefined);
  }

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

  /** Call `listener` on every alias change (template, restore, Lambda API); returns the unsubscribe. */
  onAliasChange(listener: (change: AliasChange) => void): () => void {
    this.aliasListeners.push(listener);
    return () => {
      const i = this.aliasListeners.indexOf(listener);
      if (i >= 0) this.aliasListeners.splice(i, 1);
    };
  }

  /** Register a function; `config.environment` is its own variables (what the API shows). */
  addFunction(config: FunctionConfig, meta: FunctionMetadata = {}): void {
    this.functions.set(config.functionName, new FunctionVersions(config, meta));
  }

  /**
   * Record a version the template declares: `template` for an `AWS::Lambda::Version` (a snapshot
   * of the function as deployed), `declared` for one an alias names that an earlier deploy
   * published (locally: the current code and configuration).
   */
  addVersion(functionName: string, version: string, origin: 'template' | 'declared' = 'template'): void {
    this.fn(functionName).addDeployedVersion(version, origin);
  }

  /** Set an alias as the template declares it. */
  setAlias(
    aliasName: string,
    routing: AliasRouting,
    opts: { description?: string; fingerprint?: string } = {},
  ): void {
    const fv = this.fn(routing.functionName);
    const previous = fv.alias(aliasName);
    const current = fv.setDeployedAlias(aliasName, routing, opts);
    this.aliasChanged(fv, previous, current, 'template');
  }

  getAlias(functionName: string, aliasName: string): AliasRouting | undefined {
    const alias = this.functions.get(functionName)?.alias(aliasName);
    return alias && routingOf(alias);
  }

  functionNames(): string[] {
    return [...this.functions.keys()];
  }

  hasFunction(name: string): boolean {
    return this.functions.has(name);
  }

  /** True when `functionName` has `version` (`$LATEST` or a published number). */
  hasVersion(functionName: string, version: string): boolean {
    return this.functions.get(functionName)?.version(version) !== undefined;
  }

  /**
   * Reconcile with the state an earlier run saved in `file` (see lambda-state.ts), then save
   * there after every change. Call once, after every function, version and alias of the
   * template is registered. Returns what it logged.
   */
  restoreState(file: string): string[] {
    const { state, messages } = readState(file);
    for (const fv of this.functions.values()) {
      const saved = state?.functions[fv.functionName];
      if (!saved) continue;
      const outcome = restoreFunction(fv, saved);
      messages.push(...outcome.messages);
      for (const version of outcome.replacedVersions) this.retire(fv.functionName, version);
      for (const { aliasName, previous } of outcome.aliasChanges) {
        const current = fv.alias(aliasName);
        if (current)
          this.emitAliasChange({ ...changeBase(fv, aliasName, previous, current), cause: 'restored' });
      }
    }
    for (const name of Object.keys(state?.functions ?? {}))
      if (!this.functions.has(name))
        messages.push(`${name}: no longer in the template; its saved versions and aliases are dropped`);
    this.stateFile = file;
    this.save();
    for (const line of messages) this.log(`[lambda] ${line}`);
    return messages;
  }

  // ---- Lambda API (control plane) -------------------------------------------------------------

  /** Every function's $LATEST (ListFunctions). */
  listFunctions(): FunctionView[] {
    return [...this.functions.values()]
      .sort((a, b) => a.functionName.localeCompare(b.functionName))
      .map((fv) => ({ functionName: fv.functionName, arnQualifier: undefined, config: fv.latest }));
  }

  /**
   * GetFunctionConfiguration: `ref` names the function (optionally qualified); `qualifier` is a
   * version or alias (for an alias: its primary version's configuration).
   */
  getFunctionConfiguration(ref: string, qualifier?: string): FunctionView {
    const { fv, qualifier: q } = this.lookup(ref, qualifier);
    if (q === undefined) return { functionName: fv.functionName, arnQualifier: undefined, config: fv.latest };
    const alias = fv.alias(q);
    const config = fv.version(alias ? alias.version : q);
    if (!config) throw new ResourceNotFound(`Function not found: ${fv.functionName}:${q}`);
    return { functionName: fv.functionName, arnQualifier: q, config };
  }

  /** ListVersionsByFunction: $LATEST, then the published versions oldest first. */
  listVersions(ref: string): FunctionView[] {
    const { fv } = this.lookup(ref, undefined, 'unqualified');
    return [fv.latest, ...fv.publishedVersions()].map((config) => ({
      functionName: fv.functionName,
      arnQualifier: config.version,
      config,
    }));
  }

  /**
   * UpdateFunctionConfiguration ($LATEST only). Invocations of $LATEST from now on start new
   * environments with the new configuration; those in flight finish on the old ones.
   */
  updateFunctionConfiguration(ref: string, update: ConfigurationUpdate, revisionId?: string): FunctionView {
    const { fv } = this.lookup(ref, undefined, 'unqualified');
    const config = fv.updateLatest(update, revisionId);
    this.retire(fv.functionName, '$LATEST');
    this.save();
    return { functionName: fv.functionName, arnQualifier: undefined, config };
  }

  /** PublishVersion; an unchanged $LATEST gives the last version again. */
  publishVersion(ref: string, opts: PublishOptions = {}): FunctionView & { created: boolean } {
    const { fv } = this.lookup(ref, undefined, 'unqualified');
    const { config, created } = fv.publish(opts);
    if (created) {
      this.save();
      this.log(`[lambda] ${fv.functionName}: published version ${config.version}`);
    }
    return { functionName: fv.functionName, arnQualifier: config.version, config, created };
  }

  getAliasConfiguration(ref: string, aliasName: string): AliasEntry {
    const { fv } = this.lookup(ref, undefined, 'unqualified');
    const alias = fv.alias(aliasName);
    if (!alias) throw new ResourceNotFound(`Alias not found: ${fv.functionName}:${aliasName}`);
    return alias;
  }

  /** ListAliases, optionally only those whose primary version is `functionVersion`. */
  listAliases(ref: string, functionVersion?: string): AliasEntry[] {
    const { fv } = this.lookup(ref, undefined, 'unqualified');
    return fv.aliases().filter((a) => functionVersion === undefined || a.version === functionVersion);
  }

  createAlias(ref: string, input: NewAlias): AliasEntry {
    const { fv } = this.lookup(ref, undefined, 'unqualified');
    const current = fv.createAlias(input);
    this.save();
    this.aliasChanged(fv, undefined, current, 'api');
    return current;
  }

  /** UpdateAlias: the next invocation of the alias draws against the new routing. */
  updateAlias(ref: string, aliasName: string, update: AliasUpdate): AliasEntry {
    const { fv } = this.lookup(ref, undefined, 'unqualified');
    const { previous, current } = fv.updateAlias(aliasName, update);
    this.save();
    this.aliasChanged(fv, previous, current, 'api');
    return current;
  }

  // ---- Invocations (data plane) ---------------------------------------------------------------

  /** The version an invocation of `ref` runs, drawing against alias weights. */
  resolveVersion(ref: string): { name: string; version: string } {
    const { name, version } = this.resolve(ref);
    return { name, version };
  }

  /** Throw ResourceNotFound unless `ref` names a function, version or alias that exists (no draw). */
  assertInvocable(ref: string): void {
    const { name, qualifier = '$LATEST' } = parseFunctionRef(ref);
    const fv = this.functions.get(name);
    if (!fv) throw new ResourceNotFound(`Function not found: ${name}`);
    if (!fv.alias(qualifier) && !fv.version(qualifier))
      throw new ResourceNotFound(`Function not found: ${name}:${qualifier}`);
  }

  /** Invoke synchronously; rejects with FunctionError when the handler fails. */
  async invoke(
    ref: string,
    event: unknown,
    requestId?: string,
  ): Promise<{ version: string; result: unknown }> {
    return this.run(this.resolve(ref), ref, event, requestId);
  }

  /**
   * Invoke asynchronously (InvocationType Event): resolves the alias now, runs in the background
   * and logs a failure instead of throwing it. Throws ResourceNotFound at once for a bad `ref`.
   * Returns the version drawn.
   */
  invokeAsync(ref: string, event: unknown, requestId?: string): { version: string } {
    const target = this.resolve(ref);
    this.run(target, ref, event, requestId).catch((err: unknown) => {
      const detail =
        err instanceof FunctionError
          ? `${err.payload.errorType}: ${err.payload.errorMessage}`
          : `${(err as Error)?.name}: ${(err as Error)?.message}`;
      this.log(
        `[lambda] ${target.name}:${target.qualifier ?? '$LATEST'} asynchronous invocation on version ${target.version} failed: ${detail}`,
      );
    });
    return { version: target.version };
  }

  /**
   * Make invocations fail with `fault` instead of running: `ref` is a function (every version
   * and alias) or `name:version` (only invocations resolved to that version, whichever alias
   * they came through). The next `opts.times` invocations, or all of them until
   * `clearFaults()`. A new fault for the same target replaces the previous one.
   */
  injectFault(ref: string, fault: InjectedFault, opts: { times?: number } = {}): void {
    const { name, qualifier } = parseFunctionRef(ref);
    const fv = this.fn(name);
    if (qualifier !== undefined && !fv.version(qualifier)) {
      if (fv.alias(qualifier))
        throw new InvalidParameterValueException(
          `${name}:${qualifier} is an alias: faults are injected per version (name one of ${[
            '$LATEST',
            ...fv.publishedVersions().map((v) => v.version),
          ].join(', ')}) or per function`,
        );
      throw new ResourceNotFound(`Function not found: ${name}:${qualifier}`);
    }
    this.faults.set(name, qualifier, fault, opts.times);
  }

  /** Remove every injected fault. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Start environments ahead of traffic for every version `ref` can route to. */
  async prewarm(ref: string, count: number): Promise<void> {
    const { name, qualifier = '$LATEST' } = parseFunctionRef(ref);
    const alias = this.fn(name).alias(qualifier);
    const versions = alias ? routedVersions(alias) : [qualifier];
    await Promise.all(versions.map((v) => this.runtime(name, v).prewarm(count)));
  }

  async close(): Promise<void> {
    const runtimes = [...this.runtimes.values(), ...this.retiring];
    this.runtimes.clear();
    this.retiring.clear();
    await Promise.all(runtimes.map((r) => r.close()));
  }

  // ---- internals ------------------------------------------------------------------------------

  private fn(name: string): FunctionVersions {
    const fv = this.functions.get(name);
    if (!fv) throw new ResourceNotFound(`Function not found: ${name}`);
    return fv;
  }

  /**
   * The function `ref` names and the qualifier asked for, where the name may carry one
   * (`name:3`) and the request another: they must agree, as Lambda requires.
   */
  private lookup(
    ref: string,
    qualifier: string | undefined,
    mode: 'any' | 'unqualified' = 'any',
  ): { fv: FunctionVersions; qualifier: string | undefined } {
    const parsed = parseFunctionRef(ref);
    const fv = this.fn(parsed.name);
    if (parsed.qualifier !== undefined && qualifier !== undefined && parsed.qualifier !== qualifier)
      throw new InvalidParameterValueException(
        `The derived qualifier from the function name (${parsed.qualifier}) does not match the specified qualifier (${qualifier}).`,
      );
    const q = parsed.qualifier ?? qualifier;
    if (mode === 'unqualified' && q !== undefined && q !== '$LATEST')
      throw new InvalidParameterValueException(
        `This operation applies to the function (its $LATEST): give the function name without a qualifier (got ${ref})`,
      );
    return { fv, qualifier: mode === 'unqualified' ? undefined : q };
  }

  private resolve(ref: string): Target {
    const { name, qualifier } = parseFunctionRef(ref);
    const fv = this.functions.get(name);
    if (!fv) throw new ResourceNotFound(`Function not found: ${name}`);
    const q = qualifier ?? '$LATEST';
    const alias = fv.alias(q);
    if (alias) return { name, version: drawVersion(alias, this.random()), qualifier };
    if (!fv.version(q)) throw new ResourceNotFound(`Function not found: ${name}:${q}`);
    return { name, version: q, qualifier };
  }

  private async run(
    target: Target,
    ref: string,
    event: unknown,
    requestId: string | undefined,
  ): Promise<{ version: string; result: unknown }> {
    const { name, version } = target;
    const sink = this.metricsSink;
    if (!sink) {
      if (this.faults.size > 0) this.faults.apply(name, version);
      const result = await this.runtime(name, version).invoke(event, { requestId, invokedArn: ref });
      return { version, result };
    }
    const started = performance.now();
    let outcome: InvocationOutcome = 'error';
    try {
      if (this.faults.size > 0) this.faults.apply(name, version);
      const result = await this.runtime(name, version).invoke(event, { requestId, invokedArn: ref });
      outcome = 'success';
      return { version, result };
    } catch (err) {
      if (err instanceof TooManyRequestsException) outcome = 'throttle';
      throw err;
    } finally {
      try {
        sink.onInvocation(name, target.qualifier, version, outcome, performance.now() - started);
      } catch {
        // Metrics never fail an invocation.
      }
    }
  }

  private runtime(name: string, version: string): FunctionRuntime {
    const key = `${name}:${version}`;
    let runtime = this.runtimes.get(key);
    if (!runtime) {
      const fv = this.fn(name);
      const config = fv.version(version);
      if (!config) throw new ResourceNotFound(`Function not found: ${key}`);
      runtime = new FunctionRuntime(runtimeConfig(fv.base, config), version, this.logForwarding);
      this.runtimes.set(key, runtime);
    }
    return runtime;
  }

  /** A version's configuration was replaced: its environments finish their work and stop. */
  private retire(name: string, version: string): void {
    const key = `${name}:${version}`;
    const old = this.runtimes.get(key);
    if (!old) return;
    this.runtimes.delete(key);
    this.retiring.add(old);
    old
      .drain()
      .catch(() => undefined) // stopping threads has nothing left to report
      .finally(() => this.retiring.delete(old));
  }

  private save(): void {
    if (this.stateFile) writeState(this.stateFile, this.functions.values());
  }

  private aliasChanged(
    fv: FunctionVersions,
    previous: AliasEntry | undefined,
    current: AliasEntry,
    cause: AliasChangeCause,
  ): void {
    this.emitAliasChange({ ...changeBase(fv, current.name, previous, current), cause });
  }

  private emitAliasChange(change: AliasChange): void {
    for (const listener of this.aliasListeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own: the change is made.
      }
    }
  }
}

function routingOf(alias: AliasRouting): AliasRouting {
  return {
    functionName: alias.functionName,
    version: alias.version,
    additionalVersions: alias.additionalVersions.map((a) => ({ version: a.version, weight: a.weight })),
  };
}

function changeBase(
  fv: FunctionVersions,
  aliasName: string,
  previous: AliasRouting | undefined,
  current: AliasRouting,
): Omit<AliasChange, 'cause'> {
  return {
    functionName: fv.functionName,
    aliasName,
    previous: previous && routingOf(previous),
    current: routingOf(current),
  };
}
