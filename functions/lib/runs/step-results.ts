// What each pipeline step adds to the state (at its ResultPath in statemachines/training.asl.json),
// as schemas: a later step reads an earlier step's result through these, never by guessing.
import * as z from 'zod';

/** `$.validation`, from ValidateData. */
export const ValidationResult = z.object({
  datasetSha256: z.string(),
  /** The run's settings with defaults filled in, for states that read them by JSONPath. */
  settings: z.object({
    trainer: z.string(),
    params: z.record(z.string(), z.number()),
    seed: z.number(),
    /** With its defaults too: TrainInContainer reads instanceType and maxRuntimeSeconds. */
    container: z
      .object({ image: z.string(), instanceType: z.string(), maxRuntimeSeconds: z.number() })
      .optional(),
  }),
  rows: z.number(),
  validRows: z.number(),
  output: z.string(),
});
export type ValidationResult = z.infer<typeof ValidationResult>;

/** `$.preprocess`, from Preprocess. */
export const PreprocessResult = z.object({
  trainRows: z.number(),
  testRows: z.number(),
  rejectedRows: z.number(),
  output: z.string(),
});
export type PreprocessResult = z.infer<typeof PreprocessResult>;

/** `$.training.model`, from TrainModel (or ImportContainerModel). */
export const TrainResult = z.object({
  modelUri: z.string(),
  modelSha256: z.string(),
  trainer: z.string(),
  params: z.record(z.string(), z.unknown()),
  output: z.string(),
});
export type TrainResult = z.infer<typeof TrainResult>;

/** `$.training.testSet`, from BuildTestSet. */
export const TestSetResult = z.object({ rows: z.number(), subgroupColumn: z.string(), output: z.string() });
export type TestSetResult = z.infer<typeof TestSetResult>;

/** `$.evaluation`, from Evaluate; the Choice state reads `gates.passed`. */
export const EvaluationResult = z.object({
  auc: z.number().nullable(),
  logLoss: z.number().nullable(),
  gates: z.object({ passed: z.boolean(), failures: z.array(z.string()) }),
  output: z.string(),
});
export type EvaluationResult = z.infer<typeof EvaluationResult>;

/** Read a step's result from the state, failing with the step's name when it is missing. */
export function stepResult<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new Error(`the pipeline state has no valid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
