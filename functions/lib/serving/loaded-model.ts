// What serving needs of a model once its artifact is loaded: its feature set and a scorer.
import type { FeatureSet } from '../features/feature-set.ts';
import type { ModelVersion } from '../registry/model-version.ts';

/** A model version ready to score: self-described by the metadata inside its ONNX artifact. */
export interface LoadedModel {
  readonly version: ModelVersion;
  readonly featureSet: FeatureSet;
  readonly encoding: unknown;
  /** Scores above or at this are labelled positive. */
  readonly threshold: number;
  /** P(positive) for `rows` rows of encoded features (row-major). */
  score(features: Float32Array, rows: number): Promise<Float32Array>;
}

/** Port: turn a registered version into a LoadedModel (throws ModelUnavailable when it cannot). */
export type ModelLoader = (version: ModelVersion) => Promise<LoadedModel>;
