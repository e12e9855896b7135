// Decides which registered version serves a model: a pin from the function's configuration
// (how a published Lambda version is tied to one model version) or the registry's Production.
import { ModelNotFound } from '../errors.ts';
import type { ModelRegistry, ModelVersion } from '../registry/model-version.ts';

/** Port used by the predict use case. */
export type VersionResolver = (model: string) => Promise<ModelVersion>;

export interface VersionResolverOptions {
  /** model → version pinned by this function version's configuration. */
  readonly pins?: Readonly<Record<string, number>>;
  /**
   * How long a registry answer is reused. Short, so a promotion is seen within seconds, but
   * long enough that the registry is not read on every request.
   */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** Resolve with a small TTL cache in front of the registry. */
export function createVersionResolver(
  registry: ModelRegistry,
  options: VersionResolverOptions = {},
): VersionResolver {
  const { pins = {}, ttlMs = 5_000, now = Date.now } = options;
  const cache = new Map<string, { at: number; value: Promise<ModelVersion> }>();
  const lookup = async (model: string): Promise<ModelVersion> => {
    const pinned = pins[model];
    const found =
      pinned === undefined
        ? await registry.getProductionVersion(model)
        : await registry.getVersion(model, pinned);
    if (found) return found;
    const known = await registry.getModel(model);
    if (!known) throw new ModelNotFound(`no model named "${model}" is registered`);
    throw new ModelNotFound(
      pinned === undefined
        ? `model "${model}" has no Production version yet`
        : `model "${model}" has no version ${pinned} (pinned by this function version)`,
    );
  };
  return (model: string) => {
    const hit = cache.get(model);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    const value = lookup(model);
    // Errors are not cached: a model registered a moment later is found on the next request.
    value.catch(() => cache.delete(model));
    cache.set(model, { at: now(), value });
    return value;
  };
}
