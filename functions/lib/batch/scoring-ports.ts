// What the scoring steps (ScoreFile, ScoreBatch) need beyond the shared wiring: the plan's model
// version loaded with onnxruntime (cached per execution environment) and its recipe. Only
// functions with the onnxruntime layer import this module.
import { ModelUnavailable } from '../errors.ts';
import type { ModelVersion } from '../registry/model-version.ts';
import { cachedModelLoader } from '../serving/model-cache.ts';
import { createOnnxModelLoader } from '../serving/onnx-model-loader.ts';
import { s3ObjectFetcher } from '../storage/s3-objects.ts';
import { recipeFor } from '../training/recipes.ts';
import { dataStore, registry, s3 } from './batch-handler.ts';
import type { BatchPlan } from './batch-plan.ts';
import type { ScorePartPorts } from './score-part.ts';

// One onnxruntime thread per invocation: a large input's parallelism is the Map's concurrency
// (many invocations at once), and more threads per session would only compete with them.
const loadModel = cachedModelLoader(createOnnxModelLoader(s3ObjectFetcher(s3), { intraOpThreads: 1 }));

// A registered version never changes its artifact: look each one up once per environment
// (every batch of a large input asks for the same one).
const versions = new Map<string, Promise<ModelVersion | undefined>>();
const versionOf = (model: string, version: number) => {
  const key = `${model}@${version}`;
  let found = versions.get(key);
  if (!found) {
    found = registry().getVersion(model, version);
    versions.set(key, found);
    found.then(
      (v) => v ?? versions.delete(key),
      () => versions.delete(key),
    );
  }
  return found;
};

/** What scoring a part of `plan` needs: its bucket, the plan's model version, loaded, and its recipe. */
export async function scoringPorts(plan: BatchPlan): Promise<ScorePartPorts> {
  const version = await versionOf(plan.model, plan.version);
  if (!version || version.artifactSha256 !== plan.artifactSha256)
    throw new ModelUnavailable(
      `${plan.model} v${plan.version} is no longer the artifact this batch was planned with`,
    );
  return {
    data: dataStore(plan.bucket),
    model: await loadModel(version),
    recipe: recipeFor(version.featureSet),
  };
}
