// The platform's named errors. Their `name` is what the HTTP layer maps to a status code
// and what state machines match in `ErrorEquals`, so renaming one is a breaking change.

/** One problem with the request, located by its path (e.g. `instances.3.distance`). */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Base class: every platform error carries a stable code and optional details. */
export abstract class PlatformError extends Error {
  abstract readonly status: number;
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The request is malformed: bad JSON, wrong types, missing or extra fields (400). */
export class InvalidRequest extends PlatformError {
  override readonly name = 'InvalidRequest';
  readonly status = 400;
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super(message, issues.length > 0 ? { issues } : undefined);
  }
}

/** The request is well formed but larger than the limits allow (413). */
export class PayloadTooLarge extends PlatformError {
  override readonly name = 'PayloadTooLarge';
  readonly status = 413;
}

/** No such model, or no such model version (404). */
export class ModelNotFound extends PlatformError {
  override readonly name = 'ModelNotFound';
  readonly status = 404;
}

/** The model exists but cannot be served right now: artifact missing, corrupt or unloadable (503). */
export class ModelUnavailable extends PlatformError {
  override readonly name = 'ModelUnavailable';
  readonly status = 503;
}

/** A conditional write lost: someone else changed the item first (409). */
export class ConflictError extends PlatformError {
  override readonly name = 'ConflictError';
  readonly status = 409;
}

/** A capability the request asks for is not configured on this deployment (400, says what is missing). */
export class NotConfigured extends PlatformError {
  override readonly name = 'NotConfigured';
  readonly status = 400;
}

/** A fault worth retrying (throttling, timeouts, 5xx of a service); the ASL's Retry matches its name. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** Error names AWS SDKs and Node use for throttling and passing faults. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN']);

/** True for faults a later attempt may not see: throttling, timeouts, connection resets, 5xx. */
export function isTransient(err: unknown): boolean {
  if (err instanceof PlatformError || !(err instanceof Error)) return false;
  const sdk = err as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: string };
  if (sdk.$retryable) return true;
  if (TRANSIENT_NAMES.has(err.name) || (sdk.code !== undefined && TRANSIENT_CODES.has(sdk.code))) return true;
  return (sdk.$metadata?.httpStatusCode ?? 0) >= 500;
}

/** A Lambda error's Cause is the JSON `{errorType, errorMessage, trace}`; other causes are plain text. */
export function reasonFromCause(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}
