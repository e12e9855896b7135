// Pipeline step RegisterModel (after the gates passed): copies the run's artifact set to the
// version's keys — model.onnx, metrics.json, profile.json, card.md — and registers the version
// as Staging with its full lineage. The version is registered last, so a run that fails before
// never leaves a half-registered model; a retry gets the same version number (allocated by run
// id) and rewrites the same bytes. A run id reused with other inputs is refused.
import { ConflictError } from '../lib/errors.ts';
import type { ModelRegistry, ModelVersion } from '../lib/registry/model-version.ts';
import type { StepPorts } from '../lib/runs/pipeline-step.ts';
import { type FittedEncoding, runFiles } from '../lib/runs/run-files.ts';
import { stepResult, TrainResult, ValidationResult } from '../lib/runs/step-results.ts';
import type { PipelineState } from '../lib/runs/training-run.ts';
import { readJson } from '../lib/storage/object-store.ts';
import { artifactKeys, parseS3Uri, s3Uri } from '../lib/storage/s3-layout.ts';
import { type ModelCardInput, renderModelCard } from './model-card.ts';

export interface RegisterPorts extends Pick<StepPorts, 'artifacts' | 'runLog' | 'log'> {
  readonly registry: ModelRegistry;
}

export interface RegisterResult {
  readonly version: number;
  readonly stage: string;
  readonly artifactUri: string;
  readonly output: string;
}

export async function registerModel(state: PipelineState, ports: RegisterPorts): Promise<RegisterResult> {
  const validation = stepResult(ValidationResult, state.validation, 'validation result');
  const trained = stepResult(
    TrainResult,
    (state.training as { model?: unknown } | undefined)?.model,
    'training result',
  );
  const files = runFiles(state.runId);
  const version = await ports.registry.allocateVersion(state.model, state.runId);
  const keys = artifactKeys(state.model, version);
  const respond = (v: ModelVersion): RegisterResult => ({
    version: v.version,
    stage: v.stage,
    artifactUri: v.artifactUri,
    output: s3Uri(ports.artifacts.bucket, keys.prefix),
  });

  const existing = await ports.registry.getVersion(state.model, version);
  if (existing) {
    if (
      existing.artifactSha256 !== trained.modelSha256 ||
      existing.datasetSha256 !== validation.datasetSha256
    )
      throw runConflict(existing, state.runId);
    ports.log('already registered', { runId: state.runId, version });
    await ports.runLog.runSucceeded(state.runId, { version });
    return respond(existing);
  }

  const modelBytes = await ports.artifacts.read(parseS3Uri(trained.modelUri).key);
  const metricsBytes = await ports.artifacts.read(files.metrics);
  const metrics = JSON.parse(Buffer.from(metricsBytes).toString('utf8')) as ModelCardInput['metrics'] &
    Record<string, unknown>;
  const fitted = await readJson<FittedEncoding>(ports.artifacts, files.encoding);
  const artifactUri = await ports.artifacts.write(keys.model, modelBytes, 'application/octet-stream');
  await ports.artifacts.write(keys.metrics, metricsBytes, 'application/json');
  await ports.artifacts.write(keys.profile, await ports.artifacts.read(files.profile), 'application/json');
  const lineage = {
    model: state.model,
    version,
    stage: 'Staging' as const,
    artifactUri,
    artifactSha256: trained.modelSha256,
    featureSet: state.featureSet,
    trainingRunId: state.runId,
    datasetUri: state.datasetUri,
    datasetSha256: validation.datasetSha256,
    params: { trainer: trained.trainer, ...trained.params },
    metrics,
    createdBy: state.requestedBy,
    ...(state.gitCommit ? { gitCommit: state.gitCommit } : {}),
  };
  await ports.artifacts.write(
    keys.card,
    renderModelCard({ ...lineage, featureNames: fitted.featureNames }),
    'text/markdown',
  );
  // Registered last: the version becomes visible only once its whole artifact set exists.
  const registered = await ports.registry.registerVersion(lineage);
  if (registered.artifactSha256 !== trained.modelSha256) throw runConflict(registered, state.runId);
  await ports.runLog.runSucceeded(state.runId, { version });
  return respond(registered);
}

function runConflict(stored: ModelVersion, runId: string): ConflictError {
  return new ConflictError(
    `run id "${runId}" is already registered as ${stored.model} v${stored.version} with a different artifact or dataset; use a new run id`,
    { model: stored.model, version: stored.version, runId },
  );
}
