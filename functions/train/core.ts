// Train-and-register use case: read a dataset, fit, write the artifact set at the version's
// keys, record the version with its lineage. Every write is overwrite-by-key or conditional,
// and the run id is derived from the inputs, so a retried invocation registers one version.
// A run id that is already registered is never trained again: the same inputs get the stored
// version back, different inputs a ConflictError, before anything is fitted or overwritten.
import { createHash } from 'node:crypto';
import { ConflictError, InvalidRequest } from '../lib/errors.ts';
import { getFeatureSet } from '../lib/features/index.ts';
import type { ModelRegistry, ModelVersion } from '../lib/registry/model-version.ts';
import { artifactKeys } from '../lib/storage/s3-layout.ts';

import { resolveTrainerParams, type Trainer, trainClassifier } from '../lib/training/train-classifier.ts';
import { recipes } from './datasets.ts';
import { renderModelCard } from './model-card.ts';

export interface TrainRequest {
  readonly model: string;
  readonly datasetUri: string;
  readonly featureSet: string;
  /** The algorithm. @default 'logreg' */
  readonly trainer?: Trainer;
  /** Parameters of the trainer; defaults fill the rest, unknown names are refused. */
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
const canonicalParams = (params: Readonly<Record<string, unknown>> = {}) =>
  Object.fromEntries(Object.entries(params).sort(([a], [b]) => a.localeCompare(b)));

/** What makes a run: a run id registered with other inputs than these names a different model. */
interface RunInputs {
  readonly trainingRunId: string;
  readonly datasetSha256: string;
  readonly featureSet: string;
  readonly params: Readonly<Record<string, unknown>>;
}

function sameInputs(stored: ModelVersion, run: RunInputs): boolean {
  return (
    stored.trainingRunId === run.trainingRunId &&
    stored.datasetSha256 === run.datasetSha256 &&
    stored.featureSet === run.featureSet &&
    JSON.stringify(canonicalParams(stored.params)) === JSON.stringify(canonicalParams(run.params))
  );
}

function runConflict(stored: ModelVersion, run: RunInputs): ConflictError {
  return new ConflictError(
    `run id "${run.trainingRunId}" is already registered as ${stored.model} v${stored.version} with different inputs (dataset, feature set or params); use a new run id`,
    {
      model: stored.model,
      version: stored.version,
      runId: run.trainingRunId,
      registered: {
        datasetSha256: stored.datasetSha256,
        featureSet: stored.featureSet,
        params: stored.params,
      },
      requested: { datasetSha256: run.datasetSha256, featureSet: run.featureSet, params: run.params },
    },
  );
}

export async function trainAndRegister(request: TrainRequest, ports: TrainPorts): Promise<TrainResponse> {
  const started = Date.now();
  const recipe = recipes[request.featureSet];
  const featureSet = getFeatureSet(request.featureSet);
  if (!recipe || !featureSet) throw new InvalidRequest(`unknown feature set "${request.featureSet}"`);
  // Resolved up front (defaults filled in, unknown names rejected): they are what gets recorded,
  // so a retry can be compared with the registered version before anything is fitted.
  const trainer = request.trainer ?? 'logreg';
  const modelParams = resolveTrainerParams(trainer, request.params);
  const seed = request.seed ?? 0;

  const datasetBytes = await ports.readDataset(request.datasetUri);
  const datasetSha256 = sha256(datasetBytes);
  const runId =
    request.runId ??
    `run-${sha256(JSON.stringify([request.model, datasetSha256, request.featureSet, trainer, canonicalParams(request.params), seed])).slice(0, 16)}`;
  const run: RunInputs = {
    trainingRunId: runId,
    datasetSha256,
    featureSet: request.featureSet,
    params: { trainer, ...modelParams, seed },
  };

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
  const rows = { used: instances.length, rejected };
  const respond = (version: ModelVersion): TrainResponse => ({
    runId,
    version,
    rows,
    durationMs: Date.now() - started,
  });

  // Allocated before fitting, so a retry of a registered run costs a dataset read, not a fit.
  const version = await ports.registry.allocateVersion(request.model, runId);
  const existing = await ports.registry.getVersion(request.model, version);
  if (existing) {
    if (!sameInputs(existing, run)) throw runConflict(existing, run);
    // A retry of a run that registered: its artifacts are in place, so nothing is rewritten.
    ports.log('already registered', { runId, version });
    return respond(await promoteIfAsked(request, existing, ports.registry));
  }

  // Not registered yet (first attempt, or a retry after a crash before registration): train and
  // overwrite whatever an earlier attempt wrote; the same inputs give the same bytes.
  ports.log('training', { runId, version, rows: instances.length, rejected });
  const result = trainClassifier({
    rows: instances,
    labels: Uint8Array.from(labels),
    featureSet,
    trainer,
    params: request.params,
    seed,
    modelName: request.model,
  });

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
    params: { trainer, ...result.params, seed },
    metrics,
    createdBy: request.createdBy ?? 'train-function',
  };
  await ports.writeArtifact(
    keys.card,
    renderModelCard({ ...lineage, featureNames: result.featureNames }),
    'text/markdown',
  );
  // Registered last: a version is only visible once all its artifacts exist. The first
  // registration wins, so a concurrent run with this id and other inputs shows up here.
  const registered = await ports.registry.registerVersion(lineage);
  if (!sameInputs(registered, run)) throw runConflict(registered, run);
  return respond(await promoteIfAsked(request, registered, ports.registry));
}

/**
 * Promote when the request asks for it. A version that is already Production is promoted again
 * (a no-op that completes an interrupted promotion); an Archived one is left alone, since a
 * retried bootstrap must not roll back a champion promoted since.
 */
async function promoteIfAsked(
  request: TrainRequest,
  version: ModelVersion,
  registry: ModelRegistry,
): Promise<ModelVersion> {
  if (!request.promote || version.stage === 'Archived') return version;
  return registry.promoteToProduction(version.model, version.version, {
    actor: request.createdBy ?? 'train-function',
    reason: 'bootstrap',
  });
}
