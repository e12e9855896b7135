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
