// The online prediction use case: resolve the serving version, validate instances against the
// model's own feature set, encode, score. Ports only: no AWS SDK, no onnxruntime here.
import { type FieldIssue, InvalidRequest, NotConfigured } from '../lib/errors.ts';
import type { PredictRequest } from '../lib/schemas/predict-request.ts';
import { toFieldIssues } from '../lib/schemas/zod-issues.ts';
import type { ModelLoader } from '../lib/serving/loaded-model.ts';
import type { VersionResolver } from '../lib/serving/version-resolver.ts';

/** Dependencies of `predict`, supplied by the handler (AWS) or by tests (fakes). */
export interface PredictPorts {
  readonly resolveVersion: VersionResolver;
  readonly loadModel: ModelLoader;
}

export interface Prediction {
  readonly score: number;
  readonly label: 0 | 1;
}

export interface PredictResult {
  readonly model: string;
  readonly version: number;
  readonly predictions: Prediction[];
}

/** A scored request with what the model saw: the validated instances and their encoded features (for capture). */
export interface ScoredRequest {
  readonly result: PredictResult;
  readonly instances: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Row-major, one row per instance. */
  readonly features: Float32Array;
  readonly scores: Float32Array;
}

/**
 * Instances the serving model version refused (they do not match its features): a 400 like any
 * InvalidRequest, whose answer also names that model version (`x-model-version`), so a release's
 * warm-up learns which model version a function version serves.
 */
export class InstancesRefused extends InvalidRequest {
  constructor(
    message: string,
    issues: readonly FieldIssue[],
    readonly modelVersion: number,
  ) {
    super(message, issues);
  }
}

/** Cap on reported issues, so a 1,000-row request of garbage gets a readable answer. */
const MAX_ISSUES = 20;

/** Score the request's instances with the model's serving version. */
export async function predict(request: PredictRequest, ports: PredictPorts): Promise<PredictResult> {
  return (await scoreRequest(request, ports)).result;
}

/** `predict`, keeping the instances and features it scored. */
export async function scoreRequest(request: PredictRequest, ports: PredictPorts): Promise<ScoredRequest> {
  if (request.kind === 'entity') {
    throw new NotConfigured(
      'entityId lookups need the online feature store, which this deployment does not have yet; send "instances"',
    );
  }
  const version = await ports.resolveVersion(request.model);
  const model = await ports.loadModel(version);
  const instances = validateInstances(request.instances, model.featureSet.instanceSchema, version.version);
  const features = model.featureSet.encode(instances, model.encoding);
  const scores = await model.score(features, instances.length);
  const predictions = Array.from(
    scores,
    (score): Prediction => ({ score, label: score >= model.threshold ? 1 : 0 }),
  );
  return {
    result: { model: request.model, version: version.version, predictions },
    instances: instances as ReadonlyArray<Readonly<Record<string, unknown>>>,
    features,
    scores,
  };
}

function validateInstances(
  instances: readonly Record<string, unknown>[],
  schema: {
    safeParse(
      value: unknown,
    ): { success: true; data: unknown } | { success: false; error: import('zod').ZodError };
  },
  modelVersion: number,
): unknown[] {
  const valid: unknown[] = [];
  const issues: FieldIssue[] = [];
  let badRows = 0;
  instances.forEach((instance, index) => {
    const parsed = schema.safeParse(instance);
    if (parsed.success) {
      valid.push(parsed.data);
    } else {
      badRows++;
      if (issues.length < MAX_ISSUES) issues.push(...toFieldIssues(parsed.error, ['instances', index]));
    }
  });
  if (badRows > 0) {
    throw new InstancesRefused(
      `${badRows} of ${instances.length} instances do not match the model's features`,
      issues.slice(0, MAX_ISSUES),
      modelVersion,
    );
  }
  return valid;
}
