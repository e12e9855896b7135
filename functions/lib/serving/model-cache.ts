// Caches loaded models per execution environment, keyed by model version. Entries are promises
// so concurrent requests share one load, and a failed load is dropped so the next request retries.
import type { ModelVersion } from '../registry/model-version.ts';
import type { LoadedModel, ModelLoader } from './loaded-model.ts';

/** Wrap a loader with a per-version cache; `maxEntries` bounds memory (oldest evicted first). */
export function cachedModelLoader(load: ModelLoader, maxEntries = 8): ModelLoader {
  const cache = new Map<string, Promise<LoadedModel>>();
  return (version: ModelVersion) => {
    const key = `${version.model}@${version.version}#${version.artifactSha256}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const pending = load(version).catch((err: unknown) => {
      cache.delete(key);
      throw err;
    });
    cache.set(key, pending);
    if (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    return pending;
  };
}
