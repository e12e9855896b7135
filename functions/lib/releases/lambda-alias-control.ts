// The Lambda adapter of AliasControl: one function's alias through GetAlias / UpdateAlias (with
// RevisionId, so a change by anyone else in between fails instead of being overwritten), and its
// versions through GetFunctionConfiguration / UpdateFunctionConfiguration / PublishVersion, waiting
// as Lambda asks (LastUpdateStatus, then State) before the next call. The same calls run against
// AWS and the local runtime's Lambda API.
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  type GetFunctionConfigurationCommandOutput,
  InvokeCommand,
  type LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  AliasChanged,
  type AliasControl,
  type AliasState,
  type InvokeOutcome,
  type Routing,
  type VersionConfig,
} from './alias-routing.ts';

export interface LambdaAliasControlOptions {
  /** Pause between polls of an update or a new version. @default 1000 ms */
  readonly pollMs?: number;
  /** Longest wait for an update or a new version to settle. @default 300_000 ms */
  readonly maxWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isPreconditionFailure = (err: unknown) =>
  (err as Error | undefined)?.name === 'PreconditionFailedException';

export class LambdaAliasControl implements AliasControl {
  private readonly pollMs: number;
  private readonly maxWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly lambda: LambdaClient,
    readonly functionName: string,
    readonly aliasName: string,
    options: LambdaAliasControlOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.maxWaitMs = options.maxWaitMs ?? 300_000;
    this.sleep = options.sleep ?? sleepFor;
  }

  async getAlias(): Promise<AliasState> {
    const out = await this.lambda.send(
      new GetAliasCommand({ FunctionName: this.functionName, Name: this.aliasName }),
    );
    if (!out.FunctionVersion || !out.RevisionId)
      throw new Error(`GetAlias ${this.functionName}:${this.aliasName} returned no version or revision`);
    const weights = Object.entries(out.RoutingConfig?.AdditionalVersionWeights ?? {});
    if (weights.length > 1)
      throw new Error(`${this.functionName}:${this.aliasName} routes to ${weights.length + 1} versions`);
    const [extra] = weights;
    return {
      version: out.FunctionVersion,
      ...(extra ? { additional: { version: extra[0], weight: extra[1] } } : {}),
      revisionId: out.RevisionId,
    };
  }

  async updateAlias(routing: Routing, revisionId: string): Promise<void> {
    try {
      await this.lambda.send(
        new UpdateAliasCommand({
          FunctionName: this.functionName,
          Name: this.aliasName,
          FunctionVersion: routing.version,
          // An empty map clears a previous second version.
          RoutingConfig: {
            AdditionalVersionWeights: routing.additional
              ? { [routing.additional.version]: routing.additional.weight }
              : {},
          },
          RevisionId: revisionId,
        }),
      );
    } catch (err) {
      if (isPreconditionFailure(err))
        throw new AliasChanged(
          `${this.functionName}:${this.aliasName} changed since revision ${revisionId}: ${(err as Error).message}`,
        );
      throw err;
    }
  }

  async getVersionConfig(version: string): Promise<VersionConfig> {
    const out = await this.configuration(version);
    return toVersionConfig(out, version);
  }

  async publishVersion(environment: Readonly<Record<string, string>>, description: string): Promise<string> {
    const latest = await this.configuration('$LATEST');
    let revisionId = latest.RevisionId;
    if (!sameEnvironment(latest.Environment?.Variables ?? {}, environment)) {
      try {
        const updated = await this.lambda.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: this.functionName,
            Environment: { Variables: { ...environment } },
            RevisionId: latest.RevisionId,
          }),
        );
        revisionId = updated.RevisionId;
      } catch (err) {
        if (isPreconditionFailure(err))
          throw new AliasChanged(
            `${this.functionName} was changed by someone else while the release set its configuration`,
          );
        throw err;
      }
    }
    const settled = await this.waitFor('$LATEST', (c) => c.LastUpdateStatus !== 'InProgress', 'its update');
    if (settled.LastUpdateStatus === 'Failed')
      throw new Error(
        `updating ${this.functionName}'s configuration failed: ${settled.LastUpdateStatusReason ?? 'no reason given'}`,
      );
    let published: string | undefined;
    try {
      const out = await this.lambda.send(
        new PublishVersionCommand({
          FunctionName: this.functionName,
          Description: description.slice(0, 256),
          // Publish exactly what was just checked: fails if code or configuration moved since.
          ...(settled.CodeSha256 ? { CodeSha256: settled.CodeSha256 } : {}),
          RevisionId: settled.RevisionId ?? revisionId,
        }),
      );
      published = out.Version;
    } catch (err) {
      if (isPreconditionFailure(err))
        throw new AliasChanged(`${this.functionName} changed while the release published its version`);
      throw err;
    }
    if (!published) throw new Error(`PublishVersion of ${this.functionName} returned no version`);
    const active = await this.waitFor(published, (c) => c.State !== 'Pending', `version ${published}`);
    if (active.State !== 'Active')
      throw new Error(
        `version ${published} of ${this.functionName} is ${active.State}: ${active.StateReason ?? 'no reason given'}`,
      );
    return published;
  }

  async invokeVersion(version: string, event: unknown): Promise<InvokeOutcome> {
    const out = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        Qualifier: version,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    let payload: unknown = text;
    try {
      payload = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { ...(out.FunctionError ? { functionError: out.FunctionError } : {}), payload };
  }

  private configuration(version: string): Promise<GetFunctionConfigurationCommandOutput> {
    return this.lambda.send(
      new GetFunctionConfigurationCommand({
        FunctionName: this.functionName,
        ...(version === '$LATEST' ? {} : { Qualifier: version }),
      }),
    );
  }

  /** Poll `version`'s configuration until `done`; fails after maxWaitMs naming what it waited for. */
  private async waitFor(
    version: string,
    done: (c: GetFunctionConfigurationCommandOutput) => boolean,
    what: string,
  ): Promise<GetFunctionConfigurationCommandOutput> {
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const config = await this.configuration(version);
      if (done(config)) return config;
      if (Date.now() >= deadline)
        throw new Error(`${this.functionName}: ${what} did not settle within ${this.maxWaitMs / 1000} s`);
      await this.sleep(this.pollMs);
    }
  }
}

function toVersionConfig(out: GetFunctionConfigurationCommandOutput, asked: string): VersionConfig {
  return {
    version: out.Version ?? asked,
    environment: { ...(out.Environment?.Variables ?? {}) },
    ...(out.CodeSha256 ? { codeSha256: out.CodeSha256 } : {}),
    ...(out.Description ? { description: out.Description } : {}),
  };
}

function sameEnvironment(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
