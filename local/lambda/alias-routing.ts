// Aliases and their routing: what an alias points at, the rules Lambda applies to a weighted
// alias (at most one additional version, weight 0–1, an existing published version other than
// the primary), and how a change reads in the platform log.
import { InvalidParameterValueException, ResourceNotFound } from './errors.ts';

/** `live` → version "1" plus, during a canary, version "2" at weight 0.05. */
export interface AliasRouting {
  readonly functionName: string;
  readonly version: string;
  readonly additionalVersions: ReadonlyArray<{ readonly version: string; readonly weight: number }>;
}

/** An alias as GetAlias shows it. */
export interface AliasConfiguration extends AliasRouting {
  readonly name: string;
  readonly description: string;
  readonly revisionId: string;
}

/** Why an alias changed. */
export type AliasChangeCause =
  /** Declared by the template at start-up (a deploy). */
  | 'template'
  /** Brought back from the local state saved by an earlier run. */
  | 'restored'
  /** CreateAlias or UpdateAlias. */
  | 'api';

/** Told to `onAliasChange` listeners; `previous` is undefined for a new alias. */
export interface AliasChange {
  readonly functionName: string;
  readonly aliasName: string;
  readonly previous: AliasRouting | undefined;
  readonly current: AliasRouting;
  readonly cause: AliasChangeCause;
}

/** Lambda's pattern for alias names: letters, digits, `-` and `_`, not only digits. */
const ALIAS_NAME = /^(?!\d+$)[a-zA-Z0-9_-]{1,128}$/;

export function checkAliasName(name: string): void {
  if (!ALIAS_NAME.test(name))
    throw new InvalidParameterValueException(
      `Alias name ${JSON.stringify(name)} is not valid: 1 to 128 of [a-zA-Z0-9-_], not only digits`,
    );
}

/**
 * Check a routing the way UpdateAlias/CreateAlias do. `exists(v)` says whether version `v` is
 * published. Throws ResourceNotFound for a missing version, InvalidParameterValue otherwise.
 */
export function checkRouting(
  functionName: string,
  primary: string,
  additional: AliasRouting['additionalVersions'],
  exists: (version: string) => boolean,
): void {
  if (!exists(primary))
    throw new ResourceNotFound(`Function not found: ${functionName}:${primary} (no such version)`);
  if (additional.length === 0) return;
  if (additional.length > 1)
    throw new InvalidParameterValueException(
      `RoutingConfig.AdditionalVersionWeights names ${additional.length} versions (${additional
        .map((a) => a.version)
        .join(', ')}): an alias routes to at most two versions, so give at most one additional version`,
    );
  if (primary === '$LATEST')
    throw new InvalidParameterValueException(
      '$LATEST is not supported for an alias pointing to more than 1 version: point the alias at a published version',
    );
  for (const { version, weight } of additional) {
    if (!/^\d+$/.test(version))
      throw new InvalidParameterValueException(
        `RoutingConfig.AdditionalVersionWeights: ${JSON.stringify(version)} is not a published version number`,
      );
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 1)
      throw new InvalidParameterValueException(
        `RoutingConfig.AdditionalVersionWeights: the weight of version ${version} must be from 0.0 to 1.0 (got ${JSON.stringify(weight)})`,
      );
    if (version === primary)
      throw new InvalidParameterValueException(
        `RoutingConfig.AdditionalVersionWeights: version ${version} is the alias's primary version; the additional version must be a different one`,
      );
    if (!exists(version))
      throw new ResourceNotFound(
        `Function not found: ${functionName}:${version} (RoutingConfig.AdditionalVersionWeights names a version that does not exist)`,
      );
  }
}

/** The version an invocation of the alias runs, given a draw in [0, 1). */
export function drawVersion(routing: AliasRouting, draw: number): string {
  let rest = draw;
  for (const extra of routing.additionalVersions) {
    if (rest < extra.weight) return extra.version;
    rest -= extra.weight;
  }
  return routing.version;
}

/** Every version an alias can route to, primary first. */
export function routedVersions(routing: AliasRouting): string[] {
  return [routing.version, ...routing.additionalVersions.map((a) => a.version)];
}

/** `v3 95% + v4 5%`; a $LATEST primary reads `$LATEST 100%`. */
export function formatRouting(routing: Pick<AliasRouting, 'version' | 'additionalVersions'>): string {
  const percent = (w: number) => `${Number((w * 100).toFixed(2))}%`;
  const label = (v: string) => (v === '$LATEST' ? v : `v${v}`);
  const extra = routing.additionalVersions.reduce((sum, a) => sum + a.weight, 0);
  return [
    `${label(routing.version)} ${percent(1 - extra)}`,
    ...routing.additionalVersions.map((a) => `${label(a.version)} ${percent(a.weight)}`),
  ].join(' + ');
}

/** The platform log line for an alias change: `[lambda] <fn>:live → v3 95% + v4 5%`. */
export function describeAliasChange(change: AliasChange): string {
  const why = change.cause === 'api' ? '' : ` (${change.cause === 'template' ? 'template' : 'restored'})`;
  return `[lambda] ${change.functionName}:${change.aliasName} → ${formatRouting(change.current)}${why}`;
}

/** True when two routings send the same versions the same weights. */
export function sameRouting(a: AliasRouting | undefined, b: AliasRouting | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.version === b.version &&
    a.additionalVersions.length === b.additionalVersions.length &&
    a.additionalVersions.every(
      (x, i) =>
        x.version === b.additionalVersions[i]?.version && x.weight === b.additionalVersions[i]?.weight,
    )
  );
}
