// The local Lambda service: functions, their published versions and aliases (with routing
// weights), resolved from the template. Invocations name a function, version or alias the way
// the Lambda API does (name, `name:qualifier`, or an ARN).
import { type FunctionConfig, FunctionRuntime } from './function-runtime.ts';

/** `live` → version "1" plus, during a canary, version "2" at weight 0.05. */
export interface AliasRouting {
  readonly functionName: string;
  readonly version: string;
  readonly additionalVersions: ReadonlyArray<{ readonly version: string; readonly weight: number }>;
}

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

  /** @param random routing draw in [0, 1); seedable so tests can check splits. */
  constructor(private readonly random: () => number = Math.random) {}

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
    const result = await this.runtime(name, version).invoke(event, { requestId, invokedArn: ref });
    return { version, result };
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

  private runtime(name: string, version: string): FunctionRuntime {
    const key = `${name}:${version}`;
    let runtime = this.runtimes.get(key);
    if (!runtime) {
      const config = this.configs.get(name);
      if (!config) throw new ResourceNotFound(`Function not found: ${name}`);
      runtime = new FunctionRuntime(config, version);
      this.runtimes.set(key, runtime);
    }
    return runtime;
  }
}

/** Lambda's 404 for an unknown function, version or alias. */
export class ResourceNotFound extends Error {
  override readonly name = 'ResourceNotFoundException';
}
