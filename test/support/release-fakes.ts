// Test support for model releases: an in-memory Lambda alias with versions (AliasControl) that
// behaves like Lambda's (revisions, PublishVersion returning the last version when nothing
// changed), a scripted health probe, a clock, and a registry + release store on dynalite.

import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import type { ModelVersion } from '../../functions/lib/registry/model-version.ts';
import {
  AliasChanged,
  type AliasControl,
  type AliasState,
  type InvokeOutcome,
  type Routing,
  type VersionConfig,
} from '../../functions/lib/releases/alias-routing.ts';
import { DynamoDbReleaseStore } from '../../functions/lib/releases/dynamodb-release-store.ts';
import {
  type AlarmStatus,
  DEFAULT_THRESHOLDS,
  type HealthProbe,
  type StatsQuery,
  type VersionComparison,
  type VersionStats,
} from '../../functions/lib/releases/health.ts';
import type { ReleaseRecord } from '../../functions/lib/releases/release-record.ts';
import type { ReleaseContext } from '../../functions/lib/releases/release-state.ts';
import { REGISTRY_KEYS, type TestDynamoDb } from './local-dynamodb.ts';

export const FUNCTION = 'TestStack-Predict';
export const ALIAS = 'live';
export const CODE_SHA = 'code-sha-1';

/** A Lambda function's alias and versions in memory. */
export class FakeAliasControl implements AliasControl {
  readonly functionName = FUNCTION;
  readonly aliasName = ALIAS;
  routing: Routing;
  revision = 1;
  readonly versions = new Map<string, VersionConfig>();
  /** Every alias update, in order. */
  readonly updates: Routing[] = [];
  /**
   * The model version an unpinned version serves (the registry's Production version, say);
   * undefined: its answers name none.
   */
  production: (model: string) => Promise<number | undefined> = async () => undefined;
  /**
   * What a warm-up invocation of a version answers. By default the predict function's refusal,
   * naming the model version the version serves: its pin, else `production`'s.
   */
  invoke: (version: string, event: unknown) => InvokeOutcome | Promise<InvokeOutcome> = (version, event) =>
    this.refusal(version, event);
  /** Change what an update actually leaves behind (to simulate Lambda not doing as asked). */
  applyUpdate: (asked: Routing) => Routing = (asked) => asked;
  /** Called before each getAlias (to move the alias under a release). */
  beforeGetAlias: () => void = () => undefined;
  private lastPublished?: { version: string; env: string };

  constructor(opts: { live?: string; environment?: Record<string, string> } = {}) {
    const live = opts.live ?? '4';
    const environment = opts.environment ?? { REGISTRY_TABLE: 'registry', CAPTURE_SAMPLE_RATE: '1' };
    this.routing = { version: live };
    this.versions.set('$LATEST', { version: '$LATEST', environment, codeSha256: CODE_SHA });
    for (let v = 1; v <= Number(live); v++)
      this.versions.set(String(v), { version: String(v), environment, codeSha256: CODE_SHA });
    this.lastPublished = { version: live, env: JSON.stringify(environment) };
  }

  async getAlias(): Promise<AliasState> {
    this.beforeGetAlias();
    return { ...structuredClone(this.routing), revisionId: `r${this.revision}` };
  }

  async updateAlias(routing: Routing, revisionId: string): Promise<void> {
    if (revisionId !== `r${this.revision}`) throw new AliasChanged(`alias moved since ${revisionId}`);
    for (const v of [routing.version, routing.additional?.version].filter(Boolean) as string[])
      if (!this.versions.has(v)) throw new Error(`no version ${v}`);
    this.updates.push(structuredClone(routing));
    this.routing = this.applyUpdate(structuredClone(routing));
    this.revision++;
  }

  /** Move the alias as someone else would (a new revision). */
  setRouting(routing: Routing): void {
    this.routing = structuredClone(routing);
    this.revision++;
  }

  async getVersionConfig(version: string): Promise<VersionConfig> {
    const config = this.versions.get(version);
    if (!config)
      throw Object.assign(new Error(`Function not found: ${FUNCTION}:${version}`), {
        name: 'ResourceNotFoundException',
      });
    return structuredClone(config);
  }

  async publishVersion(environment: Readonly<Record<string, string>>, description: string): Promise<string> {
    const latest = this.versions.get('$LATEST') as VersionConfig;
    this.versions.set('$LATEST', { ...latest, environment: { ...environment } });
    const env = JSON.stringify(environment);
    if (this.lastPublished?.env === env) return this.lastPublished.version;
    const next = String(
      Math.max(...[...this.versions.keys()].filter((k) => k !== '$LATEST').map(Number)) + 1,
    );
    this.versions.set(next, {
      version: next,
      environment: { ...environment },
      codeSha256: latest.codeSha256 ?? CODE_SHA,
      description,
    });
    this.lastPublished = { version: next, env };
    return next;
  }

  async invokeVersion(version: string, event: unknown): Promise<InvokeOutcome> {
    return this.invoke(version, event);
  }

  /** A 400 for an instance without features, with `x-model-version` when the version serves one. */
  async refusal(version: string, event: unknown): Promise<InvokeOutcome> {
    const model = (event as { pathParameters?: { model?: string } }).pathParameters?.model ?? '';
    const text = this.versions.get(version)?.environment.MODEL_VERSION_PINS;
    const pinned = text ? (JSON.parse(text) as Record<string, number>)[model] : undefined;
    const served = pinned ?? (await this.production(model));
    return {
      payload: {
        statusCode: 400,
        headers: {
          'content-type': 'application/json',
          ...(served === undefined ? {} : { 'x-model-version': String(served) }),
        },
        body: JSON.stringify({ error: { code: 'InvalidRequest' } }),
      },
    };
  }
}

/** Numbers of a version that served `requests` well. */
export function healthyStats(version: string, requests = 50, over: Partial<VersionStats> = {}): VersionStats {
  return {
    version,
    invocations: requests,
    functionErrors: 0,
    requests,
    serverErrors: 0,
    latencyP99Ms: 40,
    latencySamples: requests,
    meanScore: 0.21,
    scoreSamples: requests,
    ...over,
  };
}

/** A probe whose answers the test scripts: alarm states, and stats per call. */
export class FakeHealthProbe implements HealthProbe {
  alarmStates: AlarmStatus[];
  readonly queries: StatsQuery[] = [];
  /** The comparison for the n-th call (1-based). */
  stats: (call: number, q: StatsQuery) => VersionComparison = (_, q) => ({
    champion: healthyStats(q.champion, 200),
    challenger: healthyStats(q.challenger, 50),
  });

  constructor(
    readonly alarmNames: readonly string[] = ['TestStack-PredictErrors', 'TestStack-ApiLatencyP99'],
  ) {
    this.alarmStates = alarmNames.map((name) => ({ name, state: 'OK' }));
  }

  async alarms(names: readonly string[]): Promise<AlarmStatus[]> {
    return this.alarmStates.filter((a) => names.includes(a.name));
  }

  async versionStats(query: StatsQuery): Promise<VersionComparison> {
    this.queries.push(query);
    return this.stats(this.queries.length, query);
  }
}

/** A clock the test moves. */
export class TestClock {
  constructor(public ms = Date.parse('2026-11-27T08:00:00.000Z')) {}
  now = () => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** A registry and release store sharing one fresh registry-shaped table. */
export async function releaseTables(dynamo: TestDynamoDb) {
  const table = await dynamo.createTable(REGISTRY_KEYS);
  return {
    table,
    registry: new DynamoDbModelRegistry(dynamo.client, table),
    store: new DynamoDbReleaseStore(dynamo.client, table),
  };
}

/** Register `versions` of `model` (Staging), making `production` the Production one. */
export async function registerModel(
  registry: DynamoDbModelRegistry,
  model: string,
  versions: readonly number[],
  production?: number,
): Promise<ModelVersion[]> {
  const registered: ModelVersion[] = [];
  for (const version of versions) {
    const allocated = await registry.allocateVersion(model, `run-${version}`);
    registered.push(
      await registry.registerVersion({
        model,
        version: allocated,
        artifactUri: `s3://artifacts/models/${model}/${allocated}/model.onnx`,
        artifactSha256: 'a'.repeat(64),
        featureSet: 'flights-v1',
        trainingRunId: `run-${version}`,
        datasetUri: 's3://data/datasets/x.jsonl',
        datasetSha256: 'b'.repeat(64),
        params: {},
        metrics: {},
        createdBy: 'test',
      }),
    );
  }
  if (production !== undefined) await registry.promoteToProduction(model, production, { actor: 'test' });
  return registered;
}

export const noLog = () => undefined;

/** `$.release` as StartRelease would hand it on (v4 live, model v1 → v2). */
export function releaseContext(over: Partial<ReleaseContext> = {}): ReleaseContext {
  return {
    releaseId: 'flight-delay-v2-20261127T080000Z',
    executionArn: 'arn:aws:states:eu-west-1:1:execution:release:flight-delay-v2-20261127T080000Z',
    model: 'flight-delay',
    modelVersion: 2,
    previousModelVersion: 1,
    functionName: FUNCTION,
    alias: ALIAS,
    previousFunctionVersion: '4',
    strategy: 'canary',
    plan: [5, 25, 50, 100],
    bakeSeconds: 60,
    checkIntervalSeconds: 12,
    thresholds: DEFAULT_THRESHOLDS,
    alarmNames: ['TestStack-PredictErrors', 'TestStack-ApiLatencyP99'],
    startedAt: '2026-11-27T08:00:00.000Z',
    requestedBy: 'test',
    ...over,
  };
}

/** The record StartRelease writes for `release`. */
export function startedRecord(release: ReleaseContext): ReleaseRecord {
  return {
    ...release,
    status: 'publishing',
    routing: { version: release.previousFunctionVersion },
    checks: 0,
    updatedAt: release.startedAt,
  };
}
