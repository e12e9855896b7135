// The local Lambda state that outlives a restart (`<dataDir>/lambda/state.json`): $LATEST as
// last updated, the versions published locally (each with its configuration) and the aliases.
// On start-up it is reconciled with the template the way AWS would see a deploy: a function or
// alias whose template definition changed since (a new synth = `cdk deploy`) is the template's
// again; otherwise the saved state wins, since only a deploy touches them on AWS.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import * as z from 'zod';
import { type AliasRouting, formatRouting, sameRouting } from './alias-routing.ts';
import { handlerParts, type VersionConfiguration } from './function-configuration.ts';
import type { AliasEntry, FunctionVersions } from './function-versions.ts';

const STATE_FORMAT = 1;

const VersionSchema = z.object({
  version: z.string().regex(/^(\$LATEST|\d+)$/),
  origin: z.enum(['latest', 'template', 'declared', 'published']),
  description: z.string(),
  variables: z.record(z.string(), z.string()),
  handler: z.string().min(3),
  runtime: z.string(),
  role: z.string(),
  architectures: z.array(z.string()).readonly(),
  memorySize: z.number().int().positive(),
  timeoutSeconds: z.number().int().positive(),
  codeRoot: z.string(),
  codeSha256: z.string(),
  codeSize: z.number().int().nonnegative(),
  revisionId: z.string(),
  lastModified: z.string(),
  contentSha: z.string(),
});

const AliasSchema = z.object({
  functionName: z.string(),
  name: z.string(),
  version: z.string(),
  additionalVersions: z.array(z.object({ version: z.string(), weight: z.number().min(0).max(1) })).readonly(),
  description: z.string(),
  revisionId: z.string(),
  fingerprint: z.string().optional(),
});

const FunctionSchema = z.object({
  fingerprint: z.string().optional(),
  latest: VersionSchema,
  versions: z.array(VersionSchema),
  aliases: z.array(AliasSchema),
});

const StateSchema = z.object({
  formatVersion: z.literal(STATE_FORMAT),
  savedAt: z.string(),
  functions: z.record(z.string(), FunctionSchema),
});

export type SavedFunction = z.infer<typeof FunctionSchema>;
export type SavedState = z.infer<typeof StateSchema>;

/**
 * The saved state, or undefined when there is none. A file that cannot be read as state is
 * moved aside (`state.json.unreadable-<time>`) and named in `messages`: the platform starts
 * from the template rather than not at all.
 */
export function readState(file: string): { state?: SavedState; messages: string[] } {
  if (!existsSync(file)) return { messages: [] };
  try {
    return { state: StateSchema.parse(JSON.parse(readFileSync(file, 'utf8'))), messages: [] };
  } catch (err) {
    const aside = `${file}.unreadable-${new Date().toISOString().replaceAll(':', '-')}`;
    renameSync(file, aside);
    const reason = err instanceof z.ZodError ? z.prettifyError(err).split('\n')[0] : (err as Error).message;
    return {
      messages: [
        `${file} is not readable as local Lambda state (${reason}); starting from the template, the file is kept as ${aside}`,
      ],
    };
  }
}

/** Write every function's state; atomic (a crash mid-write leaves the previous file whole). */
export function writeState(file: string, functions: Iterable<FunctionVersions>): void {
  const state: SavedState = {
    formatVersion: STATE_FORMAT,
    savedAt: new Date().toISOString(),
    functions: Object.fromEntries(
      [...functions].map((fv) => [
        fv.functionName,
        {
          ...(fv.meta.fingerprint === undefined ? {} : { fingerprint: fv.meta.fingerprint }),
          latest: { ...fv.latest, variables: { ...fv.latest.variables } },
          versions: fv.publishedVersions().filter((v) => v.origin === 'published'),
          aliases: fv.aliases().map((a) => ({ ...a, additionalVersions: [...a.additionalVersions] })),
        } satisfies SavedFunction,
      ]),
    ),
  };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/** What restoring one function changed. */
export interface RestoreOutcome {
  /** For the platform log. */
  readonly messages: string[];
  /** Versions (and `$LATEST`) whose configuration differs from what they had before the restore. */
  readonly replacedVersions: string[];
  /** Aliases whose routing differs from the template's after the restore. */
  readonly aliasChanges: Array<{ aliasName: string; previous: AliasRouting; current: AliasRouting }>;
}

/**
 * Bring `fv` (as the template declares it) to its saved state, as far as the template has not
 * been deployed anew since.
 */
export function restoreFunction(fv: FunctionVersions, saved: SavedFunction): RestoreOutcome {
  const name = fv.functionName;
  const messages: string[] = [];
  const replacedVersions: string[] = [];
  const aliasChanges: RestoreOutcome['aliasChanges'] = [];
  const deployed = (saved.fingerprint ?? '') !== (fv.meta.fingerprint ?? '');

  if (deployed) {
    messages.push(
      `${name}: its template definition changed since the last run (a deploy): $LATEST has the template's code and configuration`,
    );
  } else if (saved.latest.revisionId !== fv.latest.revisionId) {
    // Same template: the code is the same; it is found where this run's cdk.out has it.
    const { codeRoot, codeSha256, codeSize } = fv.latest;
    fv.latest = { ...saved.latest, origin: 'latest', codeRoot, codeSha256, codeSize };
    replacedVersions.push('$LATEST');
  }

  // Versions published locally keep their numbers unless a deploy has taken one since.
  const taken = new Set(
    fv
      .publishedVersions()
      .filter((v) => v.origin === 'template')
      .map((v) => v.version),
  );
  const renumbered = new Map<string, string>();
  let next =
    Math.max(
      0,
      ...fv.publishedVersions().map((v) => Number(v.version)),
      ...saved.versions.map((v) => Number(v.version)),
    ) + 1;
  for (const v of [...saved.versions].sort((a, b) => Number(a.version) - Number(b.version))) {
    let version = v.version;
    if (taken.has(version)) {
      version = String(next++);
      renumbered.set(v.version, version);
      messages.push(
        `${name}: version ${v.version}, published locally, is now version ${version}: the template's deploy has number ${v.version}`,
      );
    }
    fv.putVersion({ ...v, version, origin: 'published', ...codeOf(fv, v, version, messages) });
    replacedVersions.push(version);
  }

  for (const a of saved.aliases) {
    const template = fv.alias(a.name);
    if (template && (deployed || template.fingerprint !== a.fingerprint)) {
      messages.push(
        `${name}:${a.name}: the template changed since the last run (a deploy): the template's alias applies again, ${formatRouting(template)} (was ${formatRouting(a)})`,
      );
      continue;
    }
    if (!template && a.fingerprint !== undefined) {
      messages.push(`${name}:${a.name}: no longer in the template (a deploy removed it); dropped`);
      continue;
    }
    const restored: AliasEntry = {
      ...a,
      version: renumbered.get(a.version) ?? a.version,
      additionalVersions: a.additionalVersions.map((x) => ({
        version: renumbered.get(x.version) ?? x.version,
        weight: x.weight,
      })),
    };
    const missing = [restored.version, ...restored.additionalVersions.map((x) => x.version)].filter(
      (v) => !fv.version(v),
    );
    if (missing.length > 0) {
      messages.push(
        `${name}:${a.name}: its saved routing names version(s) ${missing.join(', ')} that no longer exist; ${
          template ? `the template's ${formatRouting(template)} applies` : 'dropped'
        }`,
      );
      continue;
    }
    fv.putAlias(restored);
    if (template && !sameRouting(template, restored)) {
      aliasChanges.push({ aliasName: a.name, previous: template, current: restored });
      messages.push(
        `${name}:${a.name}: ${formatRouting(restored)} as saved (the template declares ${formatRouting(template)}; only a deploy changes that)`,
      );
    }
  }
  return { messages, replacedVersions, aliasChanges };
}

/**
 * Where a saved version's code is now: this run's asset when it is the same code, the saved
 * folder while it still exists, else (with a message) the current code.
 */
function codeOf(
  fv: FunctionVersions,
  v: VersionConfiguration,
  version: string,
  messages: string[],
): Pick<VersionConfiguration, 'codeRoot'> {
  if (v.codeSha256 === fv.latest.codeSha256) return { codeRoot: fv.latest.codeRoot };
  const { file } = handlerParts(v.handler);
  if (existsSync(join(v.codeRoot, `${file.split('/').join(sep)}.js`))) return { codeRoot: v.codeRoot };
  messages.push(
    `${fv.functionName}: the code of version ${version} (CodeSha256 ${v.codeSha256}) is gone from ${v.codeRoot}; it runs the current code with its own configuration`,
  );
  return { codeRoot: fv.latest.codeRoot };
}
