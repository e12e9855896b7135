import { describe, expect, it, vi } from 'vitest';
import { ModelNotFound } from '../../../../../functions/lib/errors.ts';
import type { ModelRegistry, ModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import { createVersionResolver } from '../../../../../functions/lib/serving/version-resolver.ts';

function fakeRegistry(production?: number, known = true) {
  const v = (n: number) => ({ model: 'm', version: n }) as ModelVersion;
  return {
    getProductionVersion: vi.fn(async () => (production === undefined ? undefined : v(production))),
    getVersion: vi.fn(async (_m: string, n: number) => (n <= 3 ? v(n) : undefined)),
    getModel: vi.fn(async () => (known ? { model: 'm', latestVersion: 3, stageRevision: 1 } : undefined)),
  } as unknown as ModelRegistry & { getProductionVersion: ReturnType<typeof vi.fn> };
}

describe('createVersionResolver', () => {
  it('serves the Production version', async () => {
    const resolve = createVersionResolver(fakeRegistry(2));
    expect((await resolve('m')).version).toBe(2);
  });

  it('serves a pinned version over Production', async () => {
    const resolve = createVersionResolver(fakeRegistry(2), { pins: { m: 3 } });
    expect((await resolve('m')).version).toBe(3);
  });

  it('reuses an answer within the TTL and asks again after it', async () => {
    let now = 0;
    const registry = fakeRegistry(2);
    const resolve = createVersionResolver(registry, { ttlMs: 1000, now: () => now });
    await resolve('m');
    await resolve('m');
    expect(registry.getProductionVersion).toHaveBeenCalledTimes(1);
    now = 1500;
    await resolve('m');
    expect(registry.getProductionVersion).toHaveBeenCalledTimes(2);
  });

  it('returns 404 for an unknown model', async () => {
    await expect(createVersionResolver(fakeRegistry(undefined, false))('nope')).rejects.toThrow(
      ModelNotFound,
    );
  });

  it('returns 404 naming the missing Production version', async () => {
    await expect(createVersionResolver(fakeRegistry(undefined))('m')).rejects.toThrow(
      /no Production version/,
    );
  });

  it('does not cache a miss', async () => {
    const registry = fakeRegistry(undefined);
    const resolve = createVersionResolver(registry);
    await expect(resolve('m')).rejects.toThrow(ModelNotFound);
    await expect(resolve('m')).rejects.toThrow(ModelNotFound);
    expect(registry.getProductionVersion).toHaveBeenCalledTimes(2);
  });
});
