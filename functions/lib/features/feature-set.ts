// The contract between raw instances and a model's numeric input, shared by training and serving.
import type { z } from 'zod';

/**
 * A named, versioned mapping from raw instances to the model's numeric input. Shared by training
 * and serving so the two cannot skew: training calls `fit` once and stores the encoding inside the
 * model artifact; serving validates each instance with `instanceSchema` and encodes it with that
 * stored encoding.
 *
 * A published name never changes meaning: a different set of features gets a new name
 * (`flights-v2`), because artifacts in the registry name the feature set they were trained with.
 */
export interface FeatureSet<Instance = unknown, Encoding = unknown> {
  /** Registry name, e.g. `flights-v1`; stored in every artifact trained with this set. */
  readonly name: string;
  /** Validates ONE serving instance: a strict object (unknown keys are rejected). */
  readonly instanceSchema: z.ZodType<Instance>;
  /** Learn what is learned from data (e.g. vocabularies). The result is JSON-serialisable. */
  fit(rows: readonly Instance[]): Encoding;
  /** Names of the model's input columns, in order, for an encoding. */
  featureNames(encoding: Encoding): string[];
  /** Row-major matrix of `rows.length` × `featureNames(encoding).length` values. */
  encode(rows: readonly Instance[], encoding: Encoding): Float32Array;
}
