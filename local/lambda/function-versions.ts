// One function's control plane: $LATEST, its published versions (immutable snapshots) and its
// aliases, with the checks and preconditions of the Lambda API. No execution environments here:
// LambdaService runs what this resolves.

import { randomUUID } from 'node:crypto';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';
import { type AliasConfiguration, type AliasRouting, checkAliasName, checkRouting } from './alias-routing.ts';
import {
  InvalidParameterValueException,
  ResourceConflictException,
  ResourceNotFound,
  staleRevision,
} from './errors.ts';
import {
  type ConfigurationUpdate,
  type FunctionMetadata,
  initialConfiguration,
  updatedConfiguration,
  type VersionConfiguration,
  type VersionOrigin,
  versionSnapshot,
} from './function-configuration.ts';
import type { FunctionConfig } from './function-runtime.ts';

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`. */
export function functionArn(functionName: string, qualifier?: string): string {
  const arn = `arn:aws:lambda:${DEFAULT_LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
  return qualifier === undefined ? arn : `${arn}:${qualifier}`;
}

/** An alias with the digest of its template definition (undefined: not from the template). */
export interface AliasEntry extends AliasConfiguration {
  readonly fingerprint?: string;
}

export interface NewAlias {
  readonly name: string;
  readonly functionVersion: string;
  readonly description?: string;
  readonly additionalVersions?: AliasRouting['additionalVersions'];
}

export interface AliasUpdate {
  /** @default unchanged */
  readonly functionVersion?: string;
  /** @default unchanged */
  readonly description?: string;
  /** Replaces the routing (empty: everything to the primary). @default unchanged */
  readonly additionalVersions?: AliasRouting['additionalVersions'];
  /** Only update if the alias's RevisionId is still this one. */
  readonly revisionId?: string;
}

export interface PublishOptions {
  /** @default $LATEST's description */
  readonly description?: string;
  /** Only publish if $LATEST's code has this hash. */
  readonly codeSha256?: string;
  /** Only publish if $LATEST's RevisionId is still this one. */
  readonly revisionId?: string;
}

export class FunctionVersions {
  latest: VersionConfiguration;
  private readonly versions = new Map<string, VersionConfiguration>();
  private readonly aliasMap = new Map<string, AliasEntry>();

  constructor(
    /** How the function's environments are started (platform variables, log folder, pool size). */
    readonly base: FunctionConfig,
    readonly meta: FunctionMetadata = {},
  ) {
    this.latest = initialConfiguration(base, meta);
  }

  get functionName(): string {
    return this.base.functionName;
  }

  /** `$LATEST` or a published version; undefined when there is none by that name. */
  version(version: string): VersionConfiguration | undefined {
    return version === '$LATEST' ? this.latest : this.versions.get(version);
  }

  /** Published versions, oldest first. */
  publishedVersions(): VersionConfiguration[] {
    return [...this.versions.values()].sort((a, b) => Number(a.version) - Number(b.version));
  }

  alias(name: string): AliasEntry | undefined {
    return this.aliasMap.get(name);
  }

  aliases(): AliasEntry[] {
    return [...this.aliasMap.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The number the next PublishVersion gets: one past every version known. */
  nextVersionNumber(): string {
    let max = 0;
    for (const v of this.versions.keys()) max = Math.max(max, Number(v));
    return String(max + 1);
  }

  /** A version the template declares: a snapshot of $LATEST as deployed. */
  addDeployedVersion(version: string, origin: 'template' | 'declared'): void {
    if (!/^\d+$/.test(version))
      throw new InvalidParameterValueException(`version ${version} is not a number`);
    if (this.versions.get(version)?.origin === 'template') return;
    this.versions.set(version, versionSnapshot(this.latest, version, origin, undefined));
  }

  /** Put a version back as saved (restoring local state). */
  putVersion(config: VersionConfiguration): void {
    this.versions.set(config.version, config);
  }

  /** Put an alias back as saved, or as the template declares it. */
  putAlias(alias: AliasEntry): void {
    this.aliasMap.set(alias.name, alias);
  }

  /** The template's alias (start-up): checked like CreateAlias, then set. */
  setDeployedAlias(
    name: string,
    routing: Pick<AliasRouting, 'version' | 'additionalVersions'>,
    opts: { description?: string; fingerprint?: string } = {},
  ): AliasEntry {
    checkRouting(this.functionName, routing.version, routing.additionalVersions, (v) => !!this.version(v));
    const entry: AliasEntry = {
      functionName: this.functionName,
      name,
      version: routing.version,
      additionalVersions: routing.additionalVersions.map((a) => ({ ...a })),
      description: opts.description ?? '',
      revisionId: randomUUID(),
      ...(opts.fingerprint === undefined ? {} : { fingerprint: opts.fingerprint }),
    };
    this.aliasMap.set(name, entry);
    return entry;
  }

  /** UpdateFunctionConfiguration on $LATEST. */
  updateLatest(update: ConfigurationUpdate, revisionId?: string): VersionConfiguration {
    if (revisionId !== undefined && revisionId !== this.latest.revisionId) throw staleRevision('function');
    this.latest = updatedConfiguration(this.latest, update);
    return this.latest;
  }

  /**
   * PublishVersion: a snapshot of $LATEST under the next number; when $LATEST has not changed
   * since the last version, that version (`created: false`), as Lambda does.
   */
  publish(opts: PublishOptions = {}): { config: VersionConfiguration; created: boolean } {
    if (opts.revisionId !== undefined && opts.revisionId !== this.latest.revisionId)
      throw staleRevision('function');
    if (opts.codeSha256 !== undefined && opts.codeSha256 !== this.latest.codeSha256)
      throw new InvalidParameterValueException(
        `CodeSHA256 (${opts.codeSha256}) is different from current CodeSHA256 in $LATEST (${this.latest.codeSha256}). Please try again with the CodeSHA256 in $LATEST.`,
      );
    if (opts.description !== undefined && opts.description.length > 256)
      throw new InvalidParameterValueException('Description must be at most 256 characters');
    const last = this.publishedVersions().at(-1);
    if (last && last.contentSha === this.latest.contentSha) return { config: last, created: false };
    const config = versionSnapshot(this.latest, this.nextVersionNumber(), 'published', opts.description);
    this.versions.set(config.version, config);
    return { config, created: true };
  }

  createAlias(input: NewAlias): AliasEntry {
    checkAliasName(input.name);
    if (this.aliasMap.has(input.name))
      throw new ResourceConflictException(
        `Alias already exists: ${functionArn(this.functionName, input.name)}`,
      );
    const additional = input.additionalVersions ?? [];
    checkRouting(this.functionName, input.functionVersion, additional, (v) => !!this.version(v));
    checkDescription(input.description);
    const entry: AliasEntry = {
      functionName: this.functionName,
      name: input.name,
      version: input.functionVersion,
      additionalVersions: additional.map((a) => ({ ...a })),
      description: input.description ?? '',
      revisionId: randomUUID(),
    };
    this.aliasMap.set(entry.name, entry);
    return entry;
  }

  /** UpdateAlias: returns the alias before and after. */
  updateAlias(name: string, update: AliasUpdate): { previous: AliasEntry; current: AliasEntry } {
    const previous = this.aliasMap.get(name);
    if (!previous) throw new ResourceNotFound(`Alias not found: ${functionArn(this.functionName, name)}`);
    if (update.revisionId !== undefined && update.revisionId !== previous.revisionId)
      throw staleRevision('alias');
    const version = update.functionVersion ?? previous.version;
    const additional = update.additionalVersions ?? previous.additionalVersions;
    checkRouting(this.functionName, version, additional, (v) => !!this.version(v));
    checkDescription(update.description);
    const current: AliasEntry = {
      ...previous,
      version,
      additionalVersions: additional.map((a) => ({ ...a })),
      description: update.description ?? previous.description,
      revisionId: randomUUID(),
    };
    this.aliasMap.set(name, current);
    return { previous, current };
  }
}

function checkDescription(description: string | undefined): void {
  if (description !== undefined && description.length > 256)
    throw new InvalidParameterValueException(
      `Description must be at most 256 characters (got ${description.length})`,
    );
}

export type { VersionOrigin };
