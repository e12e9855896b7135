// Test support: an in-memory ObjectStore (one bucket) with the S3 adapter's contract: writes
// overwrite by key and return the `s3://` URI, reads of unknown keys reject with `NoSuchKey`.
import type { ObjectStore } from '../../functions/lib/storage/object-store.ts';
import { parseS3Uri, s3Uri } from '../../functions/lib/storage/s3-layout.ts';

/** What S3 answers for a key that does not exist. */
export class NoSuchKey extends Error {
  override readonly name = 'NoSuchKey';
}

export interface MemoryObjectStore extends ObjectStore {
  /** Stored objects by key; tests read and alter them directly. */
  readonly objects: Map<string, { body: Uint8Array; contentType: string }>;
  /** Every key written, in write order (rewrites included): what a step wrote, and how often. */
  readonly writes: string[];
  /** Keys under `prefix`, sorted. */
  keys(prefix?: string): string[];
  /** Read an `s3://` URI of this bucket (the ArtifactFetcher port serving uses). */
  fetch(uri: string): Promise<Uint8Array>;
}

/** A fresh, empty bucket named `bucket`. */
export function memoryObjectStore(bucket = 'artifacts'): MemoryObjectStore {
  const objects = new Map<string, { body: Uint8Array; contentType: string }>();
  const writes: string[] = [];
  const read = async (key: string): Promise<Uint8Array> => {
    const object = objects.get(key);
    if (!object) throw new NoSuchKey(`The specified key does not exist: ${s3Uri(bucket, key)}`);
    // A copy, as every S3 read is: a caller changing it must not change what is stored.
    return Uint8Array.from(object.body);
  };
  return {
    bucket,
    objects,
    writes,
    read,
    async write(key, body, contentType) {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : Uint8Array.from(body);
      objects.set(key, { body: bytes, contentType });
      writes.push(key);
      return s3Uri(bucket, key);
    },
    keys: (prefix = '') => [...objects.keys()].filter((k) => k.startsWith(prefix)).sort(),
    async fetch(uri) {
      const { bucket: other, key } = parseS3Uri(uri);
      if (other !== bucket) throw new NoSuchKey(`no bucket ${other} in this store (it holds ${bucket})`);
      return read(key);
    },
  };
}
