import { describe, expect, it, vi } from 'vitest';
import type { ModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import type { LoadedModel } from '../../../../../functions/lib/serving/loaded-model.ts';
import { cachedModelLoader } from '../../../../../functions/lib/serving/model-cache.ts';

const version = (v: number) => ({ model: 'm', version: v, artifactSha256: `sha${v}` }) as ModelVersion;

describe('cachedModelLoader', () => {
  it('loads each version once, even for concurrent requests', async () => {
    const load = vi.fn(async (v: ModelVersion) => ({ version: v }) as LoadedModel);
    const cached = cachedModelLoader(load);
    await Promise.all([cached(version(1)), cached(version(1)), cached(version(1))]);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('keeps versions apart', async () => {
    const load = vi.fn(async (v: ModelVersion) => ({ version: v }) as LoadedModel);
    const cached = cachedModelLoader(load);
    expect((await cached(version(1))).version.version).toBe(1);
    expect((await cached(version(2))).version.version).toBe(2);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('drops a failed load so the next request retries', async () => {
    const load = vi
      .fn()
      .mockRejectedValueOnce(new Error('S3 blip'))
      .mockResolvedValueOnce({ version: version(1) });
    const cached = cachedModelLoader(load);
    await expect(cached(version(1))).rejects.toThrow('S3 blip');
    await expect(cached(version(1))).resolves.toMatchObject({ version: { version: 1 } });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('evicts the oldest entry past maxEntries', async () => {
    const load = vi.fn(async (v: ModelVersion) => ({ version: v }) as LoadedModel);
    const cached = cachedModelLoader(load, 2);
    await cached(version(1));
    await cached(version(2));
    await cached(version(3));
    await cached(version(1));
    expect(load).toHaveBeenCalledTimes(4);
  });
});
