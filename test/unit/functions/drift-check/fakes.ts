// Test support for the drift check: in-memory ports with the contracts of their AWS adapters (an
// alert store with compare-and-set, a retraining starter with Step Functions' unique execution
// names), a seeded traffic generator, a profile of it, and capture objects as Firehose writes them.
import { gzipSync } from 'node:zlib';
import type {
  DriftCheckLog,
  DriftCheckPorts,
  RetrainingStarter,
} from '../../../../functions/drift-check/core.ts';
import type { CaptureObjects } from '../../../../functions/lib/capture/capture-reader.ts';
import type { CaptureRecord } from '../../../../functions/lib/capture/capture-record.ts';
import type { AlertStateStore, StoredAlertState } from '../../../../functions/lib/drift/alert-state-store.ts';
import { buildProfile, type Profile, profilePredictions } from '../../../../functions/lib/drift/profile.ts';
import { renderDriftReportHtml } from '../../../../functions/lib/drift/report-html.ts';
import type { EmfEntry } from '../../../../functions/lib/metrics/emf.ts';
import type { ModelSummary, ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import type { RetrainingRequest } from '../../../../functions/lib/retraining/retraining-request.ts';
import { artifactKeys, capturePartitionPrefix } from '../../../../functions/lib/storage/s3-layout.ts';
import { type MemoryObjectStore, memoryObjectStore } from '../../../support/memory-object-store.ts';
import { seededNormal, seededRandom } from '../lib/training/seeded-random.ts';

export const ORIGINS = ['ATL', 'ORD', 'DFW', 'LAX', 'DEN', 'SFO'] as const;

export interface TrafficShift {
  /** Shift of distance's mean, in σ. */
  readonly distance?: number;
}

/** Flights-like inputs (distance, origin) and a score per row, seeded. */
export function traffic(n: number, seed: number, shift: TrafficShift = {}) {
  const uniform = seededRandom(seed);
  const normal = seededNormal(uniform);
  const rows = Array.from({ length: n }, () => ({
    distance: 1100 + 600 * (normal() + (shift.distance ?? 0)),
    origin: ORIGINS[Math.floor(uniform() * ORIGINS.length)] ?? 'ATL',
  }));
  const scores = rows.map((r) => 1 / (1 + Math.exp(-(r.distance - 1100) / 600)));
  return { rows, scores };
}

let reference: Profile | undefined;
/** The training profile of 20,000 reference flights, with a prediction reference. */
export function referenceProfile(): Profile {
  if (!reference) {
    const { rows, scores } = traffic(20_000, 1);
    reference = {
      ...buildProfile({ fields: { distance: 'numeric', origin: 'categorical' }, rows }),
      prediction: profilePredictions(scores),
    };
  }
  return reference;
}

/** Capture records of `model` v`version` for `traffic`, spread evenly over [start, end). */
export function captureRecords(
  model: string,
  version: number,
  data: { rows: Record<string, unknown>[]; scores: number[] },
  start: Date,
  end: Date,
): CaptureRecord[] {
  const span = end.getTime() - start.getTime();
  return data.rows.map((input, i) => ({
    kind: 'inference-capture',
    time: new Date(start.getTime() + Math.floor((i * span) / data.rows.length)).toISOString(),
    requestId: `req-${model}-${start.getTime()}-${i}`,
    index: 0,
    model,
    version,
    functionVersion: '1',
    latencyMs: 12,
    input,
    features: [Number(input.distance)],
    score: data.scores[i] ?? 0,
    label: (data.scores[i] ?? 0) >= 0.5 ? 1 : 0,
    sampleRate: 1,
  }));
}

/** Firehose-like objects: records grouped by partition hour, `perObject` lines per gzip object. */
export async function putCaptures(
  data: MemoryObjectStore,
  records: readonly CaptureRecord[],
  options: { perObject?: number; gzip?: boolean; extraLines?: readonly string[] } = {},
): Promise<string[]> {
  const byPrefix = new Map<string, string[]>();
  for (const record of records) {
    const prefix = capturePartitionPrefix(record.model, new Date(record.time));
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), JSON.stringify(record)]);
  }
  const keys: string[] = [];
  const perObject = options.perObject ?? 1_000;
  for (const [prefix, lines] of byPrefix) {
    const all = [...lines, ...(keys.length === 0 ? (options.extraLines ?? []) : [])];
    for (let i = 0; i < all.length; i += perObject) {
      const text = `${all.slice(i, i + perObject).join('\n')}\n`;
      const key = `${prefix}capture-${String(keys.length).padStart(4, '0')}${options.gzip === false ? '' : '.gz'}`;
      await data.write(key, options.gzip === false ? text : gzipSync(text), 'application/octet-stream');
      keys.push(key);
    }
  }
  return keys;
}

/** CaptureObjects over an in-memory bucket; each object is streamed in chunks of `chunkBytes`. */
export function memoryCaptureObjects(data: MemoryObjectStore, chunkBytes = 4096): CaptureObjects {
  return {
    async list(prefix) {
      return data.keys(prefix);
    },
    async open(key) {
      const bytes = await data.read(key);
      return (async function* () {
        for (let i = 0; i < bytes.length; i += chunkBytes) yield bytes.subarray(i, i + chunkBytes);
      })();
    },
  };
}

/** An alert store with the DynamoDB adapter's compare-and-set; `beforePut` can slip a racing write in. */
export class MemoryAlertStore implements AlertStateStore {
  readonly items = new Map<string, StoredAlertState>();
  puts = 0;
  beforePut?: (model: string) => Promise<void>;

  async get(model: string) {
    const item = this.items.get(model);
    return item && structuredClone(item);
  }

  async put(model: string, state: Omit<StoredAlertState, 'revision'>, expected: number | undefined) {
    const hook = this.beforePut;
    this.beforePut = undefined;
    await hook?.(model);
    this.puts++;
    if (this.items.get(model)?.revision !== expected) return undefined;
    const stored = { ...structuredClone(state), revision: (expected ?? 0) + 1 };
    this.items.set(model, stored);
    return stored;
  }
}

/** Step Functions' name rule: one execution per name and state machine. */
export class FakeStateMachine implements RetrainingStarter {
  readonly executions = new Map<string, RetrainingRequest>();
  calls = 0;

  async start(name: string, request: RetrainingRequest) {
    this.calls++;
    const executionArn = `arn:aws:states:eu-west-1:123456789012:execution:retraining:${name}`;
    if (this.executions.has(name)) return { executionArn, alreadyStarted: true };
    this.executions.set(name, request);
    return { executionArn, alreadyStarted: false };
  }
}

export interface Harness {
  readonly ports: DriftCheckPorts;
  readonly data: MemoryObjectStore;
  readonly artifacts: MemoryObjectStore;
  readonly alerts: MemoryAlertStore;
  readonly retraining: FakeStateMachine;
  readonly models: Map<string, ModelSummary>;
  /** Registered versions by `model#version` (their feature set decides the monitored values). */
  readonly versions: Map<string, ModelVersion>;
  readonly metrics: EmfEntry[];
  readonly logs: Array<{ level: string; message: string; data?: Record<string, unknown> }>;
  /** Register `model` with Production `version` and store its profile. */
  addModel(model: string, version: number, profile?: Profile | null): Promise<void>;
}

/** When the fake clock says the check runs: the HTML page's "generated at". */
export const CHECKED_AT = new Date('2026-11-27T09:05:00.000Z');

/** Fresh in-memory ports, with the real HTML renderer and a fixed clock. */
export function harness(options: { retraining?: boolean } = {}): Harness {
  const data = memoryObjectStore('data');
  const artifacts = memoryObjectStore('artifacts');
  const alerts = new MemoryAlertStore();
  const retraining = new FakeStateMachine();
  const models = new Map<string, ModelSummary>();
  /** Registered versions by `model#version`; only tests about feature sets add any. */
  const versions = new Map<string, ModelVersion>();
  const metrics: EmfEntry[] = [];
  const logs: Harness['logs'] = [];
  const logAt =
    (level: string): DriftCheckLog['info'] =>
    (message, extra) =>
      logs.push({ level, message, ...(extra ? { data: extra } : {}) });
  const ports: DriftCheckPorts = {
    registry: {
      async listModels() {
        // Sorted by name, as the registry lists them.
        return [...models.values()].sort((a, b) => a.model.localeCompare(b.model));
      },
      async getModel(model) {
        return models.get(model);
      },
      async getVersion(model, version) {
        return versions.get(`${model}#${version}`);
      },
    },
    captures: memoryCaptureObjects(data),
    artifacts,
    reports: data,
    alerts,
    ...(options.retraining === false ? {} : { retraining }),
    renderHtml: renderDriftReportHtml,
    now: () => CHECKED_AT,
    emitMetrics: (entries) => metrics.push(...entries),
    log: { info: logAt('info'), warn: logAt('warn'), error: logAt('error') },
  };
  return {
    ports,
    data,
    artifacts,
    alerts,
    retraining,
    models,
    versions,
    metrics,
    logs,
    async addModel(model, version, profile = referenceProfile()) {
      models.set(model, { model, latestVersion: version, productionVersion: version, stageRevision: 1 });
      if (profile)
        await artifacts.write(
          artifactKeys(model, version).profile,
          JSON.stringify(profile),
          'application/json',
        );
    },
  };
}
