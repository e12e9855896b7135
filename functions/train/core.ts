// Train-and-register use case: read a dataset, fit, write the artifact set at the version's
// keys, record the version with its lineage. Every write is overwrite-by-key or conditional,
// and the run id is derived from the inputs, so a retried invocation registers one version.
import { createHash } from 'node:crypto';
import { InvalidRequest } from '../lib/errors.ts';
import { getFeatureSet } from '../lib/features/index.ts';
import type { ModelRegistry, ModelVersion } from '../lib/registry/model-version.ts';
import { artifactKeys } from '../lib/storage/s3-layout.ts';
import { trainClassifier } from '../lib/training/train-classifier.ts';
import { recipes } from './datasets.ts';
import { renderModelCard } from './model-card.ts';

export interface TrainRequest {
  readonly model: string;
  readonly datasetUri: string;
  readonly featureSet: string;
  readonly params?: Readonly<Record<string, number>>;
  readonly seed?: number;
  /** Explicit run id; by default derived from model, data, feature set, params and seed. */
  readonly runId?: string;
  /** Promote the new version to Production right away (used to bootstrap an empty registry). */
  readonly promote?: boolean;
  readonly createdBy?: string;
}

export interface TrainPorts {
  readonly registry: ModelRegistry;
  readDataset(uri: string): Promise<Uint8Array>;
  /** Overwrite-by-key write into the artifacts bucket; returns the object's URI. */
  writeArtifact(key: string, body: Uint8Array | string, contentType: string): Promise<string>;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

export interface TrainResponse {
  readonly runId: string;
  readonly version: ModelVersion;
  readonly rows: { readonly used: number; readonly rejected: number };
  readonly durationMs: number;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/**
 * Parse a JSON array or JSON Lines dataset into rows. Values that are not objects come back as
 * they are, so the caller counts them as rejected rows; unparsable text is an InvalidRequest.
 */
export function parseDataset(bytes: Uint8Array): unknown[] {
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text) as unknown[];
    } catch (err) {
      throw new InvalidRequest(`dataset is not a valid JSON array: ${(err as Error).message}`);
    }
  }
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch (err) {
      throw new InvalidRequest(`dataset line ${i + 1} is not valid JSON: ${(err as Error).message}`);
    }
  });
}

/** Params in key order, so `{a, b}` and `{b, a}` name the same run. */
const canonicalParams = (params: Readonly<Record<string, number>> = {}) =>
  Object.fromEntries(Object.entries(params).sort(([a], [b]) => a.localeCompare(b)));

export async function trainAndRegister(request: TrainRequest, ports: TrainPorts): Promise<TrainResponse> {
  const started = Date.now();
  const recipe = recipes[request.featureSet];
  const featureSet = getFeatureSet(request.featureSet);
  if (!recipe || !featureSet) throw new InvalidRequest(`unknown feature set "${request.featureSet}"`);

  const datasetBytes = await ports.readDataset(request.datasetUri);
  const datasetSha256 = sha256(datasetBytes);
  const runId =
    request.runId ??
    `run-${sha256(JSON.stringify([request.model, datasetSha256, request.featureSet, canonicalParams(request.params), request.seed ?? 0])).slice(0, 16)}`;

  const instances: unknown[] = [];
  const labels: number[] = [];
  let rejected = 0;
  for (const row of parseDataset(datasetBytes)) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      rejected++;
      continue;
    }
    const label = recipe.label(row as Record<string, unknown>);
    const instance = Object.fromEntries(
      Object.entries(row).filter(([k]) => !recipe.labelColumns.includes(k)),
    );
    const parsed = featureSet.instanceSchema.safeParse(instance);
    if (label === undefined || !parsed.success) {
      rejected++;
      continue;
    }
    instances.push(parsed.data);
    labels.push(label);
  }
  if (instances.length < 100)
    throw new InvalidRequest(`dataset has ${instances.length} usable rows; at least 100 are needed`);
  ports.log('training', { runId, rows: instances.length, rejected });

  const result = trainClassifier({
    rows: instances,
    labels: Uint8Array.from(labels),
    featureSet,
    params: request.params,
    seed: request.seed,
    modelName: request.model,
  });

  const version = await ports.registry.allocateVersion(request.model, runId);
  const keys = artifactKeys(request.model, version);
  const artifactSha256 = sha256(result.modelBytes);
  const metrics = { ...result.metrics, rowsUsed: instances.length, rowsRejected: rejected };
  const artifactUri = await ports.writeArtifact(keys.model, result.modelBytes, 'application/octet-stream');
  await ports.writeArtifact(keys.metrics, `${JSON.stringify(metrics, null, 2)}\n`, 'application/json');
  const lineage = {
    model: request.model,
    version,
    artifactUri,
    artifactSha256,
    featureSet: request.featureSet,
    trainingRunId: runId,
    datasetUri: request.datasetUri,
    datasetSha256,
    params: { ...result.params, seed: request.seed ?? 0 },
    metrics,
    createdBy: request.createdBy ?? 'train-function',
  };
  await ports.writeArtifact(
    keys.card,
    renderModelCard({ ...lineage, featureNames: result.featureNames }),
    'text/markdown',
  );
  // Registered last: a version is only visible once all its artifacts exist.
  let registered = await ports.registry.registerVersion(lineage);
  if (request.promote) {
    registered = await ports.registry.promoteToProduction(request.model, version, {
      actor: lineage.createdBy,
      reason: 'bootstrap',
    });
  }
  return {
    runId,
    version: registered,
    rows: { used: instances.length, rejected },
    durationMs: Date.now() - started,
  };
}
