// Loads a registered version's ONNX artifact into an onnxruntime session. The artifact is
// checked against the sha256 the registry recorded, and describes its own feature set and
// encoding in its metadata, so serving applies exactly the preprocessing training fitted.
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { ModelUnavailable } from '../errors.ts';
import { getFeatureSet } from '../features/index.ts';
import { readModelMetadata } from '../onnx/model-metadata.ts';
import type { ModelVersion } from '../registry/model-version.ts';
import type { LoadedModel, ModelLoader } from './loaded-model.ts';

/** Port: fetch an artifact's bytes by URI (S3 in production). */
export type ArtifactFetcher = (uri: string) => Promise<Uint8Array>;

export interface OnnxLoaderOptions {
  /** Threads per session; 1 suits one-row requests on a 1-vCPU Lambda. */
  readonly intraOpThreads?: number;
}

/** Build a ModelLoader that serves ONNX artifacts with onnxruntime-node. */
export function createOnnxModelLoader(
  fetchArtifact: ArtifactFetcher,
  options: OnnxLoaderOptions = {},
): ModelLoader {
  return async (version: ModelVersion): Promise<LoadedModel> => {
    const label = `${version.model} v${version.version}`;
    let bytes: Uint8Array;
    try {
      bytes = await fetchArtifact(version.artifactUri);
    } catch (err) {
      throw new ModelUnavailable(`artifact of ${label} cannot be read: ${(err as Error).message}`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== version.artifactSha256) {
      throw new ModelUnavailable(
        `artifact of ${label} does not match its registered sha256 (got ${sha256.slice(0, 12)}…)`,
      );
    }
    let metadata: Record<string, string>;
    try {
      metadata = readModelMetadata(bytes);
    } catch (err) {
      throw new ModelUnavailable(`artifact of ${label} is not a valid ONNX model: ${(err as Error).message}`);
    }
    const featureSet = getFeatureSet(metadata['mlops.featureSet'] ?? version.featureSet);
    if (!featureSet)
      throw new ModelUnavailable(`${label} needs feature set "${version.featureSet}", unknown to this build`);
    let encoding: unknown;
    let width: number;
    try {
      encoding = JSON.parse(metadata['mlops.encoding'] ?? 'null');
      width = featureSet.featureNames(encoding).length;
    } catch (err) {
      throw new ModelUnavailable(
        `artifact of ${label} has an unusable ${featureSet.name} encoding: ${(err as Error).message}`,
      );
    }
    const threshold = Number(metadata['mlops.threshold'] ?? 0.5);
    if (!Number.isFinite(threshold))
      throw new ModelUnavailable(`artifact of ${label} has a non-numeric threshold`);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: options.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new ModelUnavailable(`onnxruntime cannot load ${label}: ${(err as Error).message}`);
    }
    return {
      version,
      featureSet,
      encoding,
      threshold,
      async score(features: Float32Array, rows: number): Promise<Float32Array> {
        const input = new ort.Tensor('float32', features, [rows, width]);
        const out = await session.run({ features: input }, ['probabilities']);
        const probabilities = out.probabilities?.data as Float32Array | undefined;
        if (!probabilities) throw new ModelUnavailable(`${label} produced no "probabilities" output`);
        const scores = new Float32Array(rows);
        for (let i = 0; i < rows; i++) scores[i] = probabilities[2 * i + 1] ?? Number.NaN;
        return scores;
      },
    };
  };
}
