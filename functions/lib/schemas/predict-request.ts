// The prediction request contract (DESIGN.md "Prediction API"), validated at the edge.
import * as z from 'zod';
import { InvalidRequest, PayloadTooLarge } from '../errors.ts';
import { ModelName } from './model-name.ts';
import { toFieldIssues } from './zod-issues.ts';

/** Limits that turn an oversized request into a 413 before any work is done. */
export const PREDICT_LIMITS = {
  /** Raw body size accepted by the function (API Gateway itself stops at 10 MB, Lambda at 6 MB). */
  maxBodyBytes: 1_000_000,
  /** Rows per request; larger jobs belong to batch scoring. */
  maxInstances: 1_000,
} as const;

const Body = z
  .object({
    instances: z
      .array(z.record(z.string(), z.unknown()))
      .min(1, 'at least one instance is required')
      .optional(),
    entityId: z.string().min(1).max(256).optional(),
  })
  .strict()
  .refine((b) => (b.instances === undefined) !== (b.entityId === undefined), {
    message: 'give exactly one of "instances" or "entityId"',
  });

/** A validated prediction request; instances are checked against the model's own schema later. */
export type PredictRequest =
  | {
      readonly model: string;
      readonly kind: 'instances';
      readonly instances: readonly Record<string, unknown>[];
    }
  | { readonly model: string; readonly kind: 'entity'; readonly entityId: string };

/** Parse the path parameter and raw body of `POST /models/{model}/predict`. */
export function parsePredictRequest(
  modelParam: string | undefined,
  rawBody: string | null | undefined,
): PredictRequest {
  const model = ModelName.safeParse(modelParam);
  if (!model.success) throw new InvalidRequest('invalid model name', toFieldIssues(model.error, ['model']));
  if (rawBody === null || rawBody === undefined || rawBody.trim() === '') {
    throw new InvalidRequest('request body is empty; send {"instances": [{...}]}');
  }
  if (Buffer.byteLength(rawBody) > PREDICT_LIMITS.maxBodyBytes) {
    throw new PayloadTooLarge(`request body exceeds ${PREDICT_LIMITS.maxBodyBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (err) {
    throw new InvalidRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  const instances = (json as { instances?: unknown } | null)?.instances;
  if (Array.isArray(instances) && instances.length > PREDICT_LIMITS.maxInstances) {
    throw new PayloadTooLarge(
      `${instances.length} instances exceed the limit of ${PREDICT_LIMITS.maxInstances} per request; use batch scoring`,
    );
  }
  const body = Body.safeParse(json);
  if (!body.success)
    throw new InvalidRequest('request body does not match the schema', toFieldIssues(body.error));
  return body.data.instances !== undefined
    ? { model: model.data, kind: 'instances', instances: body.data.instances }
    : { model: model.data, kind: 'entity', entityId: body.data.entityId ?? '' };
}
