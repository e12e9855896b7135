// A shadow copy: a live request, as the client sent it, handed to the predict function's `shadow`
// alias by an asynchronous invocation (InvocationType Event) after the champion answered. The
// challenger scores it and only logs its answer into the capture; nobody waits for it.
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod';
import { ModelName } from '../schemas/model-name.ts';

/** Marks an invocation event as a shadow copy (not an API Gateway event). */
export const SHADOW_COPY_KIND = 'shadow-copy';

/** Lambda's limit on an asynchronous invocation's payload. */
export const ASYNC_PAYLOAD_LIMIT_BYTES = 1024 * 1024;

export const ShadowCopySchema = z.object({
  kind: z.literal(SHADOW_COPY_KIND),
  /** The live request's id: the challenger's capture records carry it as `shadowOf`. */
  requestId: z.string().min(1),
  model: ModelName,
  /** The version the sender's shadow configuration names: the challenger refuses to score with another. */
  challengerVersion: z.number().int().positive(),
  releaseId: z.string().min(1),
  /** The request's instances as the client sent them: the challenger validates them with its own schema. */
  instances: z.array(z.record(z.string(), z.unknown())).min(1),
  /** When the champion handed the copy over (ISO-8601). */
  sentAt: z.iso.datetime(),
});

export type ShadowCopy = z.output<typeof ShadowCopySchema>;

/** True for events that claim to be shadow copies (they are parsed with ShadowCopySchema after). */
export function isShadowCopyEvent(event: unknown): boolean {
  return (
    typeof event === 'object' && event !== null && (event as { kind?: unknown }).kind === SHADOW_COPY_KIND
  );
}

/** A copy that cannot be sent at all (too large for an asynchronous invocation). */
export class ShadowCopyTooLarge extends Error {
  override readonly name = 'ShadowCopyTooLarge';
}

/** Port: hand a copy to the shadow alias. Resolves once the invocation is queued; never waits for the challenger. */
export type ShadowCopySender = (copy: ShadowCopy) => Promise<void>;

/** The copy as the invocation's payload; throws ShadowCopyTooLarge above Lambda's asynchronous limit. */
export function shadowCopyPayload(copy: ShadowCopy): Uint8Array {
  const payload = new TextEncoder().encode(JSON.stringify(copy));
  if (payload.byteLength > ASYNC_PAYLOAD_LIMIT_BYTES)
    throw new ShadowCopyTooLarge(
      `the copy of ${copy.requestId} is ${payload.byteLength} bytes; asynchronous invocations take at most ${ASYNC_PAYLOAD_LIMIT_BYTES}`,
    );
  return payload;
}

/**
 * Sends copies to `functionName:qualifier` with InvocationType Event. Give it a client with one
 * attempt (`maxAttempts: 1`) and short timeouts: a retried send may queue the copy twice, and a
 * copy is worth less than the time spent retrying it.
 */
export function lambdaShadowCopySender(
  lambda: LambdaClient,
  target: { readonly functionName: string; readonly qualifier: string },
): ShadowCopySender {
  return async (copy) => {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: target.functionName,
        Qualifier: target.qualifier,
        InvocationType: 'Event',
        Payload: shadowCopyPayload(copy),
      }),
    );
    if (out.StatusCode !== 202)
      throw new Error(
        `the shadow alias answered ${out.StatusCode ?? 'no status'} to an asynchronous invocation`,
      );
  };
}
