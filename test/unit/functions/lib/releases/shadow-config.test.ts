// The shadow item against dynalite (conditional writes are the point), and the TTL-cached lookup
// the predict function reads it through.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConflictError } from '../../../../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../../../../functions/lib/registry/dynamodb-registry.ts';
import {
  cachedShadowLookup,
  DynamoDbShadowConfigStore,
  isShadowActive,
  type NewShadowConfig,
  SHADOW_CONFIG_KEY,
  type ShadowConfig,
} from '../../../../../functions/lib/releases/shadow-config.ts';
import { REGISTRY_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../../support/local-dynamodb.ts';

let dynamo: TestDynamoDb;
let table: string;
let store: DynamoDbShadowConfigStore;

const T0 = new Date('2026-11-27T10:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

const shadow = (overrides: Partial<NewShadowConfig> = {}): NewShadowConfig => ({
  model: 'flight-delay',
  challengerVersion: 2,
  championVersion: 1,
  functionVersion: '7',
  releaseId: 'release-a',
  startedAt: T0.toISOString(),
  until: minutes(60).toISOString(),
  ...overrides,
});

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo?.stop();
});

beforeEach(async () => {
  table = await dynamo.createTable(REGISTRY_KEYS);
  store = new DynamoDbShadowConfigStore(dynamo.client, table);
});

describe('DynamoDbShadowConfigStore', () => {
  it('has no shadow before the first start', async () => {
    expect(await store.get()).toBeUndefined();
  });

  it('starts a shadow and reads it back as active', async () => {
    const started = await store.start(shadow(), T0);
    expect(started).toEqual({ ...shadow(), state: 'active' });
    expect(await store.get({ consistent: true })).toEqual(started);
  });

  it('lets the same release start again (a retried step) and overwrites its own item', async () => {
    await store.start(shadow(), T0);
    const again = await store.start(shadow({ functionVersion: '8' }), minutes(1));
    expect(again.functionVersion).toBe('8');
    expect((await store.get())?.functionVersion).toBe('8');
  });

  it('refuses another release while a shadow is active, naming the running one', async () => {
    await store.start(shadow(), T0);
    const refused = store.start(shadow({ releaseId: 'release-b', model: 'other-model' }), minutes(5));
    await expect(refused).rejects.toBeInstanceOf(ConflictError);
    await expect(refused).rejects.toThrow(
      `a shadow is already running: flight-delay v2 (release release-a, function version 7, until ${minutes(60).toISOString()}); finish it before starting another`,
    );
  });

  it('lets another release start once the running shadow has expired or finished', async () => {
    await store.start(shadow(), T0);
    await expect(store.start(shadow({ releaseId: 'release-b' }), minutes(60))).resolves.toMatchObject({
      releaseId: 'release-b',
    });
    await store.finish('release-b', { at: minutes(61), reason: 'completed' });
    await expect(store.start(shadow({ releaseId: 'release-c' }), minutes(62))).resolves.toMatchObject({
      releaseId: 'release-c',
    });
  });

  it('finishes its own release once, keeping the first finish on a retry', async () => {
    await store.start(shadow(), T0);
    const finished = await store.finish('release-a', { at: minutes(30), reason: 'completed' });
    expect(finished).toMatchObject({
      state: 'finished',
      finishedAt: minutes(30).toISOString(),
      finishReason: 'completed',
    });
    const again = await store.finish('release-a', { at: minutes(40), reason: 'aborted' });
    expect(again).toEqual(finished);
  });

  it("refuses to finish another release's shadow and says nothing exists before any", async () => {
    await expect(store.finish('release-a', { at: T0, reason: 'x' })).resolves.toBeUndefined();
    await store.start(shadow(), T0);
    await expect(store.finish('release-b', { at: T0, reason: 'x' })).rejects.toThrow(
      /the shadow item belongs to another release: flight-delay v2 \(release release-a/,
    );
    expect((await store.get())?.state).toBe('active');
  });

  it('fails naming the item when what is stored is not a shadow configuration', async () => {
    await dynamo.client.send(
      new PutCommand({
        TableName: table,
        Item: { ...SHADOW_CONFIG_KEY, model: 'm', challengerVersion: 'two' },
      }),
    );
    await expect(store.get()).rejects.toThrow(
      /the shadow item \(ALIAS#shadow\/SHADOW\) is malformed: challengerVersion/,
    );
  });

  it("stays out of the registry's model and version listings", async () => {
    const registry = new DynamoDbModelRegistry(dynamo.client, table);
    const version = await registry.allocateVersion('flight-delay', 'run-1');
    await registry.registerVersion({
      model: 'flight-delay',
      version,
      artifactUri: 's3://a/models/flight-delay/1/model.onnx',
      artifactSha256: 'f'.repeat(64),
      featureSet: 'flights-v1',
      trainingRunId: 'run-1',
      datasetUri: 's3://d/x.json',
      datasetSha256: 'e'.repeat(64),
      params: {},
      metrics: {},
      createdBy: 'test',
    });
    await store.start(shadow(), T0);
    expect((await registry.listModels()).map((m) => m.model)).toEqual(['flight-delay']);
    expect((await registry.listVersions('flight-delay')).map((v) => v.version)).toEqual([1]);
    expect((await registry.listAuditEvents('flight-delay')).map((e) => e.action)).toEqual(['register']);
  });
});

describe('isShadowActive', () => {
  const config: ShadowConfig = { ...shadow(), state: 'active' };
  it('is true only while active and before until', () => {
    expect(isShadowActive(config, minutes(59).getTime())).toBe(true);
    expect(isShadowActive(config, minutes(60).getTime())).toBe(false);
    expect(isShadowActive({ ...config, state: 'finished' }, minutes(1).getTime())).toBe(false);
    expect(isShadowActive(undefined, T0.getTime())).toBe(false);
  });
});

describe('cachedShadowLookup', () => {
  const active: ShadowConfig = { ...shadow(), state: 'active' };

  it('reads once per TTL, shared by concurrent callers', async () => {
    let now = T0.getTime();
    const get = vi.fn(async () => active);
    const lookup = cachedShadowLookup({ get }, { ttlMs: 5_000, now: () => now });
    await Promise.all([lookup(), lookup(), lookup()]);
    now += 4_999;
    await lookup();
    expect(get).toHaveBeenCalledTimes(1);
    now += 1;
    await lookup();
    expect(get).toHaveBeenCalledTimes(2);
  });

  it('stops answering a cached shadow the moment it expires', async () => {
    let now = minutes(59).getTime();
    const lookup = cachedShadowLookup({ get: async () => active }, { ttlMs: 60_000, now: () => now });
    expect(await lookup()).toEqual(active);
    now = minutes(60).getTime();
    expect(await lookup()).toBeUndefined();
  });

  it('answers undefined for a finished shadow', async () => {
    const lookup = cachedShadowLookup(
      { get: async () => ({ ...active, state: 'finished' as const }) },
      {
        now: () => T0.getTime(),
      },
    );
    expect(await lookup()).toBeUndefined();
  });

  it('does not cache a failed read: the next call reads again', async () => {
    const get = vi
      .fn<() => Promise<ShadowConfig | undefined>>()
      .mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException'))
      .mockResolvedValueOnce(active);
    const lookup = cachedShadowLookup({ get }, { ttlMs: 60_000, now: () => T0.getTime() });
    await expect(lookup()).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(await lookup()).toEqual(active);
    expect(get).toHaveBeenCalledTimes(2);
  });
});
