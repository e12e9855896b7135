// Warming a published version of the predict function before traffic reaches it, through the
// releases' AliasControl port: requests that make the version resolve and load its model, then
// be refused (400: an instance without features), so they emit no metrics and are not captured.
// A refusal names the model version that refused it (`x-model-version`), so a warm-up also tells
// which model version a function version serves. 404 or 5xx mean it cannot serve the model.
import type { InvokeOutcome } from './alias-routing.ts';
import { WarmUpFailed } from './release-errors.ts';

/** Header of the predict function's answers naming the model version that answered. */
export const MODEL_VERSION_HEADER = 'x-model-version';

/** A prediction request whose one instance has no features; `requestIdPrefix` makes its request id. */
export function warmUpEvent(model: string, index: number, requestIdPrefix: string) {
  return {
    resource: '/models/{model}/predict',
    path: `/models/${model}/predict`,
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    pathParameters: { model },
    body: JSON.stringify({ instances: [{}] }),
    isBase64Encoded: false,
    requestContext: { requestId: `${requestIdPrefix}-warm-up-${index}` },
  };
}

export interface WarmUpOptions {
  /** The function version to warm. */
  readonly version: string;
  readonly model: string;
  /** Concurrent invocations: each may start an execution environment. */
  readonly invocations: number;
  readonly requestIdPrefix: string;
  /** The version as errors name it (`v5`, `shadow version 7`). */
  readonly subject: string;
  /** What it must serve, as errors name it (`flight-delay v2`). */
  readonly serving: string;
}

/**
 * Invoke `version` `invocations` times at once; WarmUpFailed when any invocation fails or answers
 * 404 or 5xx. Returns the model version each answer named (undefined where it named none).
 */
export async function warmUp(
  invoke: (version: string, event: unknown) => Promise<InvokeOutcome>,
  options: WarmUpOptions,
): Promise<Array<number | undefined>> {
  const outcomes = await Promise.all(
    Array.from({ length: options.invocations }, (_, i) =>
      invoke(options.version, warmUpEvent(options.model, i, options.requestIdPrefix)),
    ),
  );
  return outcomes.map((outcome) => {
    const payload = outcome.payload as {
      statusCode?: unknown;
      headers?: unknown;
      body?: unknown;
      errorMessage?: unknown;
    } | null;
    if (outcome.functionError)
      throw new WarmUpFailed(
        `${options.subject} failed its warm-up (${outcome.functionError}): ${String(payload?.errorMessage ?? JSON.stringify(payload))}`,
      );
    const status = payload?.statusCode;
    if (typeof status !== 'number' || status >= 500 || status === 404)
      throw new WarmUpFailed(
        `${options.subject} cannot serve ${options.serving}: warm-up answered ${String(status ?? 'no status')} ${errorText(payload?.body)}`.trim(),
      );
    return payload ? servedModelVersion(payload) : undefined;
  });
}

/** The model version an answer names: its `x-model-version` header, or a 200 body's `version`. */
function servedModelVersion(payload: { headers?: unknown; body?: unknown; statusCode?: unknown }) {
  if (payload.headers && typeof payload.headers === 'object')
    for (const [name, value] of Object.entries(payload.headers))
      if (name.toLowerCase() === MODEL_VERSION_HEADER && /^\d+$/.test(String(value))) return Number(value);
  if (payload.statusCode === 200 && typeof payload.body === 'string') {
    try {
      const version = (JSON.parse(payload.body) as { version?: unknown }).version;
      if (typeof version === 'number') return version;
    } catch {
      // not JSON: names no version
    }
  }
  return undefined;
}

function errorText(body: unknown): string {
  if (typeof body !== 'string' || body === '') return '';
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    return parsed.error?.message ?? body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}
