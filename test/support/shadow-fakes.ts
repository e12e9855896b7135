// Test support for shadow releases: one Lambda function in memory with several aliases over the
// same versions (AliasControl views, like Lambda's: revisions, PublishVersion returning the last
// version when $LATEST is unchanged), and in-memory capture objects for the capture readers.
import { gzipSync } from 'node:zlib';
import type { CaptureObjects } from '../../functions/lib/capture/capture-reader.ts';
import type { CaptureRecord } from '../../functions/lib/capture/capture-record.ts';
import {
  AliasChanged,
  type AliasControl,
  type InvokeOutcome,
  type Routing,
  type VersionConfig,
} from '../../functions/lib/releases/alias-routing.ts';

export const PREDICT_FUNCTION = 'TestStack-Predict';
export const CODE_SHA = 'code-sha-1';

/** A function's versions and aliases; `alias(name)` is that alias's AliasControl. */
export class FakeLambdaFunction {
  readonly versions = new Map<string, VersionConfig>();
  readonly aliases = new Map<string, { routing: Routing; revision: number }>();
  /** Every PublishVersion that created a version, in order. */
  readonly published: string[] = [];
  /** Every alias update: alias name and routing, in order. */
  readonly updates: Array<{ alias: string; routing: Routing }> = [];
  /** What invoking a version answers (warm-up): a 400 refusal by default, as a healthy version gives. */
  invoke: (version: string, event: unknown) => InvokeOutcome = () => ({
    payload: { statusCode: 400, body: '{"error":{"code":"InvalidRequest"}}' },
  });
  /** Change what an alias update leaves behind (Lambda not doing as asked). */
  applyUpdate: (alias: string, asked: Routing) => Routing = (_alias, asked) => asked;
  private lastPublished: { version: string; env: string };

  constructor(opts: { live?: string; environment?: Record<string, string> } = {}) {
    const live = opts.live ?? '3';
    const environment = opts.environment ?? { REGISTRY_TABLE: 'registry', SHADOW_ALIAS: 'shadow' };
    this.versions.set('$LATEST', { version: '$LATEST', environment, codeSha256: CODE_SHA });
    for (let v = 1; v <= Number(live); v++)
      this.versions.set(String(v), { version: String(v), environment, codeSha256: CODE_SHA });
    this.lastPublished = { version: live, env: JSON.stringify(environment) };
    this.aliases.set('live', { routing: { version: live }, revision: 1 });
    this.aliases.set('shadow', { routing: { version: live }, revision: 1 });
  }

  alias(name: string): AliasControl {
    const fn = this;
    const entry = () => {
      const found = fn.aliases.get(name);
      if (!found)
        throw Object.assign(new Error(`Alias not found: ${name}`), { name: 'ResourceNotFoundException' });
      return found;
    };
    return {
      functionName: PREDICT_FUNCTION,
      aliasName: name,
      async getAlias() {
        const { routing, revision } = entry();
        return { ...structuredClone(routing), revisionId: `r${revision}` };
      },
      async updateAlias(routing: Routing, revisionId: string) {
        const current = entry();
        if (revisionId !== `r${current.revision}`)
          throw new AliasChanged(`alias ${name} moved since ${revisionId}`);
        if (!fn.versions.has(routing.version)) throw new Error(`no version ${routing.version}`);
        fn.updates.push({ alias: name, routing: structuredClone(routing) });
        fn.aliases.set(name, {
          routing: fn.applyUpdate(name, structuredClone(routing)),
          revision: current.revision + 1,
        });
      },
      async getVersionConfig(version: string) {
        const config = fn.versions.get(version);
        if (!config)
          throw Object.assign(new Error(`Function not found: ${PREDICT_FUNCTION}:${version}`), {
            name: 'ResourceNotFoundException',
          });
        return structuredClone(config);
      },
      async publishVersion(environment: Readonly<Record<string, string>>, description: string) {
        const latest = fn.versions.get('$LATEST') as VersionConfig;
        fn.versions.set('$LATEST', { ...latest, environment: { ...environment } });
        const env = JSON.stringify(environment);
        if (fn.lastPublished.env === env) return fn.lastPublished.version;
        const next = String(
          Math.max(...[...fn.versions.keys()].filter((k) => k !== '$LATEST').map(Number)) + 1,
        );
        fn.versions.set(next, {
          version: next,
          environment: { ...environment },
          codeSha256: latest.codeSha256 ?? CODE_SHA,
          description,
        });
        fn.lastPublished = { version: next, env };
        fn.published.push(next);
        return next;
      },
      async invokeVersion(version: string, event: unknown) {
        return fn.invoke(version, event);
      },
    };
  }
}

/** Capture objects in memory: key → bytes (gzip or plain JSON Lines, as the delivery stream writes). */
export class MemoryCaptureObjects implements CaptureObjects {
  readonly objects = new Map<string, Uint8Array>();

  /** Store `records` as one object under their own partition (`capture/model=…/dt=…/hour=…/`). */
  put(name: string, records: readonly CaptureRecord[], gzip = true): void {
    const first = records[0];
    if (!first) throw new Error('put needs at least one record');
    const time = new Date(first.time).toISOString();
    const key = `capture/model=${first.model}/dt=${time.slice(0, 10)}/hour=${time.slice(11, 13)}/${name}${gzip ? '.gz' : ''}`;
    const text = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
    this.objects.set(key, gzip ? gzipSync(text) : new TextEncoder().encode(text));
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async open(key: string): Promise<AsyncIterable<Uint8Array>> {
    const bytes = this.objects.get(key);
    if (!bytes) throw Object.assign(new Error(`NoSuchKey: ${key}`), { name: 'NoSuchKey' });
    return (async function* () {
      // Two chunks, so readers are exercised across a chunk boundary.
      const middle = Math.floor(bytes.length / 2);
      yield bytes.subarray(0, middle);
      yield bytes.subarray(middle);
    })();
  }
}

/** A capture record with defaults for what a test does not care about. */
export function captureRecord(
  overrides: Partial<CaptureRecord> & Pick<CaptureRecord, 'requestId' | 'time'>,
): CaptureRecord {
  return {
    kind: 'inference-capture',
    index: 0,
    model: 'flight-delay',
    version: 1,
    functionVersion: '3',
    latencyMs: 10,
    input: {},
    features: [],
    score: 0.2,
    label: 0,
    sampleRate: 1,
    ...overrides,
  };
}
