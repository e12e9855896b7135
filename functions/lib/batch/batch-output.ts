// What one scored input leaves in S3 (DESIGN.md "Batch output"): the bytes of its parts, the
// `_SUCCESS` manifest written last, the partition an incoming key maps to, and the rules that
// make a rerun leave exactly one copy (stale parts, replayed events).
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { InvalidRequest } from '../errors.ts';
import { ModelName } from '../schemas/model-name.ts';
import { INCOMING_PREFIX } from '../storage/s3-layout.ts';

/** A part file's bytes: each line followed by `\n` (JSON Lines); no lines give an empty file. */
export function renderPart(lines: readonly string[]): Uint8Array {
  return new TextEncoder().encode(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
}

/** Hex sha256 of `bytes`, as the platform records checksums. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex sha256');
const Count = z.int().min(0);
const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');

/** What scoring one part wrote: its row counts and the keys and checksums of its files. */
/**
 * What a batch returns to the Map: only its part number. A child execution's output joins the
 * Map's result array, which must stay under Step Functions' 256 KiB; Finalize reads each part's
 * counts and checksums from the stored files instead.
 */
export interface PartRef {
  readonly index: number;
  /** Whether the part wrote rejected rows (a rejected part left from an earlier run is stale). */
  readonly rejected: boolean;
}

export const PartSummarySchema = z.object({
  /** Part number: part n holds the input's n-th batch of rows. */
  index: Count,
  rowsIn: Count,
  rowsOut: Count,
  rowsRejected: Count,
  scoresKey: z.string(),
  scoresSha256: Sha256,
  scoresBytes: Count,
  /** Present when the part rejected rows (with `rejectedSha256`). */
  rejectedKey: z.string().optional(),
  rejectedSha256: Sha256.optional(),
});
/** What scoring one part wrote (see PartSummarySchema). */
export type PartSummary = z.infer<typeof PartSummarySchema>;

/** The `_SUCCESS` manifest: which input, scored by which artifact, produced which parts. */
export const ManifestSchema = z.object({
  manifestVersion: z.literal(1),
  input: z.object({
    bucket: z.string(),
    key: z.string(),
    /** Without the quotes S3 puts around it in HeadObject answers. */
    etag: z.string(),
    bytes: Count,
    format: z.enum(['csv', 'jsonl']),
    gzip: z.boolean(),
  }),
  model: z.object({ name: z.string(), version: z.int().positive(), artifactSha256: Sha256 }),
  partition: z.object({ dt: IsoDate, source: z.string() }),
  /** Sums over the parts: `in = out + rejected`. */
  rows: z.object({ in: Count, out: Count, rejected: Count }),
  /** Map batches that failed within the tolerated failure rate; their rows are in no part. */
  failedBatches: Count,
  /** Sorted by index. */
  parts: z.array(PartSummarySchema),
  timings: z.object({ startedAt: z.string(), finishedAt: z.string() }),
});
/** The `_SUCCESS` manifest (see ManifestSchema). */
export type Manifest = z.infer<typeof ManifestSchema>;

/** The identity of an input object: a replay of the same upload has the same three. */
export interface InputIdentity {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
}

/** What `buildManifest` records. */
export interface ManifestInput {
  readonly input: InputIdentity & {
    readonly bytes: number;
    readonly format: 'csv' | 'jsonl';
    readonly gzip: boolean;
  };
  readonly model: { readonly name: string; readonly version: number; readonly artifactSha256: string };
  readonly partition: { readonly dt: string; readonly source: string };
  /** In any order; every part index at most once. */
  readonly parts: readonly PartSummary[];
  /** Map batches that failed within the tolerated failure rate (default 0); they leave gaps in `parts`. */
  readonly failedBatches?: number;
  readonly timings: { readonly startedAt: string | Date; readonly finishedAt: string | Date };
}

/** S3 quotes ETags in HeadObject answers but not in event notifications. */
const bareEtag = (etag: string) => etag.replace(/^"(.*)"$/, '$1');
const isoTime = (time: string | Date) => (typeof time === 'string' ? time : time.toISOString());

/**
 * The `_SUCCESS` manifest for a finished run: the input's identity, the model artifact, row counts
 * summed over the parts, and the parts sorted by index with their keys and checksums. Keys always
 * come in the same order (JSON.stringify of the result is deterministic for the same arguments).
 * Throws RangeError when the parts are inconsistent: a repeated index, counts that do not add
 * up, a rejected key without its checksum, or a missing part when no batch failed.
 */
export function buildManifest(run: ManifestInput): Manifest {
  const failedBatches = run.failedBatches ?? 0;
  const parts = [...run.parts].sort((a, b) => a.index - b.index).map(checkedPart);
  parts.forEach((part, i) => {
    const previous = parts[i - 1];
    if (previous && previous.index === part.index) throw new RangeError(`part ${part.index} appears twice`);
    if (failedBatches === 0 && part.index !== i) {
      throw new RangeError(
        `part ${i} is missing, yet no batch failed (parts: ${parts.map((p) => p.index).join(', ')})`,
      );
    }
  });
  const sum = (count: (part: PartSummary) => number) => parts.reduce((total, part) => total + count(part), 0);
  return ManifestSchema.parse({
    manifestVersion: 1,
    input: {
      bucket: run.input.bucket,
      key: run.input.key,
      etag: bareEtag(run.input.etag),
      bytes: run.input.bytes,
      format: run.input.format,
      gzip: run.input.gzip,
    },
    model: { name: run.model.name, version: run.model.version, artifactSha256: run.model.artifactSha256 },
    partition: { dt: run.partition.dt, source: run.partition.source },
    rows: { in: sum((p) => p.rowsIn), out: sum((p) => p.rowsOut), rejected: sum((p) => p.rowsRejected) },
    failedBatches,
    parts,
    timings: { startedAt: isoTime(run.timings.startedAt), finishedAt: isoTime(run.timings.finishedAt) },
  });
}

/** A part with its keys in the manifest's fixed order (and nothing else), checked for consistency. */
function checkedPart(part: PartSummary): PartSummary {
  if (part.rowsIn !== part.rowsOut + part.rowsRejected) {
    throw new RangeError(
      `part ${part.index}: ${part.rowsIn} rows in but ${part.rowsOut} out + ${part.rowsRejected} rejected`,
    );
  }
  if ((part.rejectedKey === undefined) !== (part.rejectedSha256 === undefined)) {
    throw new RangeError(`part ${part.index}: rejectedKey and rejectedSha256 go together`);
  }
  return {
    index: part.index,
    rowsIn: part.rowsIn,
    rowsOut: part.rowsOut,
    rowsRejected: part.rowsRejected,
    scoresKey: part.scoresKey,
    scoresSha256: part.scoresSha256,
    scoresBytes: part.scoresBytes,
    ...(part.rejectedKey === undefined
      ? {}
      : { rejectedKey: part.rejectedKey, rejectedSha256: part.rejectedSha256 }),
  };
}

/**
 * True when `manifest` (an existing `_SUCCESS`, parsed JSON) already covers this exact input
 * (same bucket, key and ETag) scored completely by this artifact: a replayed or duplicate event
 * is then a no-op. Anything that is not a valid manifest, or a run with failed batches, is false,
 * so the input is scored again.
 */
export function sameRun(manifest: unknown, input: InputIdentity, artifactSha256: string): boolean {
  const parsed = ManifestSchema.safeParse(manifest);
  if (!parsed.success) return false;
  const { input: scored, model, failedBatches } = parsed.data;
  return (
    scored.bucket === input.bucket &&
    scored.key === input.key &&
    input.etag !== '' &&
    bareEtag(scored.etag) === bareEtag(input.etag) &&
    model.artifactSha256 === artifactSha256 &&
    failedBatches === 0
  );
}

const PART_FILE = /^part-(\d{5,})\.jsonl$/;

/**
 * Keys of `part-nnnnn.jsonl` files directly under `prefix` that this run did not write: index
 * `partCount` or above (left from an earlier, larger run of the same input), and, when `written`
 * lists the indices this run wrote under `prefix` (rejected parts exist only for parts that
 * rejected rows), every other index too. Sorted; delete them before writing `_SUCCESS`.
 */
export function staleParts(
  existingKeys: readonly string[],
  prefix: string,
  partCount: number,
  written?: Iterable<number>,
): string[] {
  const folder = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const kept = written === undefined ? undefined : new Set(written);
  return existingKeys
    .filter((key) => {
      if (!key.startsWith(folder)) return false;
      const match = PART_FILE.exec(key.slice(folder.length));
      if (!match) return false;
      const index = Number(match[1]);
      return index >= partCount || (kept !== undefined && !kept.has(index));
    })
    .sort();
}

/** Where an incoming file's output goes, read from its key. */
export interface Partition {
  readonly model: string;
  /** The version named in the key (`version={n}/`); otherwise the caller picks one (Production). */
  readonly version?: number;
  /** `YYYY-MM-DD`: the key's `dt=` folder, else the UTC date the object was last modified. */
  readonly dt: string;
  /** The file name, safe as a key segment (see `partitionOf`). */
  readonly source: string;
}

const INCOMING_LAYOUT = `${INCOMING_PREFIX}{model}/[version={n}/][dt=YYYY-MM-DD/]{file name}`;
const KNOWN_SUFFIX = /(?:\.(?:csv|jsonl|ndjson|json))?(?:\.gz)?$/i;

/**
 * The partition of an incoming key `incoming/{model}/[version={n}/][dt=YYYY-MM-DD/]{name}` (as
 * stored: URL-decode S3 event keys first). `source` is the file name with every character
 * outside [A-Za-z0-9._-] replaced by `_`; when anything was replaced, 8 hex digits of the
 * name's sha256 go before its extension, so `a b.csv` and `a_b.csv` cannot overwrite each
 * other's output. A key outside this layout throws InvalidRequest saying what is wrong.
 */
export function partitionOf(key: string, lastModified: Date): Partition {
  const fail = (problem: string): never => {
    throw new InvalidRequest(`cannot score "${key}": ${problem}; expected ${INCOMING_LAYOUT}`);
  };
  if (!key.startsWith(INCOMING_PREFIX)) fail(`it is not under ${INCOMING_PREFIX}`);
  const folders = key.slice(INCOMING_PREFIX.length).split('/');
  const model = folders.shift() ?? '';
  const name = folders.pop();
  if (name === undefined) return fail('it names no model folder');
  const modelName = ModelName.safeParse(model);
  if (!modelName.success) fail(`"${model}" is not a model name (${modelName.error.issues[0]?.message})`);
  if (name === '') fail('it is a folder, not a file');
  if (/^\.+$/.test(name)) fail(`"${name}" is not a file name`);

  let version: number | undefined;
  if (folders[0]?.startsWith('version=')) {
    const folder = folders.shift() as string;
    version = Number(folder.slice('version='.length));
    if (!/^version=[1-9]\d*$/.test(folder) || !Number.isSafeInteger(version)) {
      fail(`"${folder}" is not version={a positive integer}`);
    }
  }
  let dt: string | undefined;
  if (folders[0]?.startsWith('dt=')) {
    const folder = folders.shift() as string;
    dt = folder.slice('dt='.length);
    if (!isCalendarDate(dt)) fail(`"${folder}" is not dt={a date YYYY-MM-DD}`);
  }
  if (folders.length > 0) fail(`unexpected folder "${folders[0]}"`);
  if (dt === undefined) {
    if (Number.isNaN(lastModified.getTime())) throw new RangeError('lastModified is not a valid date');
    dt = lastModified.toISOString().slice(0, 10);
  }
  return { model, ...(version === undefined ? {} : { version }), dt, source: sourceOf(name) };
}

function sourceOf(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (safe === name) return safe;
  const suffix = KNOWN_SUFFIX.exec(safe)?.[0] ?? '';
  return `${safe.slice(0, safe.length - suffix.length)}-${sha256Hex(name).slice(0, 8)}${suffix}`;
}

function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
