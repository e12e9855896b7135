// A training run as the training pipeline (statemachines/training.asl.json) sees it: the
// execution input, with defaults, and the names of its steps. Every step parses the same input,
// so the pipeline's contract lives here and nowhere else.
import * as z from 'zod';
import type { QualityGates as GateLimits } from '../evaluation/classifier-evaluation.ts';
import { ModelName } from '../schemas/model-name.ts';
import { DATA_VALIDATION_MODES } from '../validation/reference-checks.ts';

/** Steps in pipeline order; each writes under `runs/{runId}/{step}/` and records itself in the run log. */
export const PIPELINE_STEPS = [
  'validate',
  'preprocess',
  'train',
  'build-test-set',
  'evaluate',
  'register',
] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

/**
 * Run ids name executions, S3 prefixes and SageMaker training jobs (`{runId}-train`, ≤ 63
 * characters of letters, digits and dashes), so they follow the strictest of those rules.
 */
export const RunId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9-]{0,56}$/,
    'run ids are 1-57 letters, digits or dashes, not starting with a dash',
  );

/** `logreg` and `gbdt` run in the train function; `container` runs a SageMaker training job. */
export const PIPELINE_TRAINERS = ['logreg', 'gbdt', 'container'] as const;
export type PipelineTrainer = (typeof PIPELINE_TRAINERS)[number];

/** Registration gates; defaults suit flights-20k (logistic regression scores ~0.65 AUC). */
export const QualityGates = z
  .object({
    /** Held-out AUC below this fails the run. */
    minAuc: z.number().min(0).max(1).default(0.6),
    /** No subgroup's AUC may sit more than this below the overall AUC. */
    maxSubgroupAucGap: z.number().min(0).max(1).default(0.1),
    /** Subgroups with fewer test rows are reported but not gated: their AUC is mostly noise. */
    minSubgroupRows: z.number().int().min(1).default(200),
  })
  .strict() satisfies z.ZodType<GateLimits>;

/** A bring-your-own training container run as a SageMaker training job. */
export const ContainerTraining = z
  .object({
    /**
     * ECR image URI. It reads channel `train` (`train.jsonl`: `{instance, label}` rows, and
     * `encoding.json`: the feature encoding fitted on them) and writes `/opt/ml/model/model.onnx`.
     */
    image: z.string().min(1),
    instanceType: z.string().default('ml.m5.xlarge'),
    maxRuntimeSeconds: z.number().int().positive().default(3600),
  })
  .strict();

/** The execution input of the training pipeline. */
export const TrainingRunInput = z.object({
  runId: RunId,
  model: ModelName,
  /** `s3://…` JSON array or JSON Lines of training rows. */
  datasetUri: z.string().regex(/^s3:\/\/[^/]+\/.+/, 'expected s3://bucket/key'),
  featureSet: z.string().min(1),
  trainer: z.enum(PIPELINE_TRAINERS).default('logreg'),
  params: z.record(z.string(), z.number()).default({}),
  seed: z.number().int().min(0).default(0),
  /** Column whose values split the test set into subgroups for per-subgroup metrics and the fairness gate. */
  subgroupColumn: z.string().min(1).optional(),
  gates: QualityGates.default(QualityGates.parse({})),
  container: ContainerTraining.optional(),
  /**
   * `drift-tolerant` skips the data gate's comparisons with the reference data (mean and quantile
   * bands, unseen and vanished categories): retraining on a drifted window must not be refused for
   * the drift it is meant to learn. Schema, nulls, ranges, label balance and duplicates still apply.
   */
  dataValidation: z.enum(DATA_VALIDATION_MODES).default('full'),
  /** Who asked for the run (CLI user, schedule, drift check). */
  requestedBy: z.string().max(200).default('unknown'),
  /** Commit of the training code, when the caller knows it. */
  gitCommit: z.string().max(64).optional(),
});
export type TrainingRunInput = z.infer<typeof TrainingRunInput>;

/**
 * What a step receives: the execution input plus the results earlier steps added (ResultPath),
 * which each step reads with its own schema.
 */
export const PipelineState = TrainingRunInput.loose();
export type PipelineState = z.infer<typeof PipelineState>;
