// The Lambda API's errors, named as AWS names them (the SDK raises its modeled exception class by
// that name) and carrying the HTTP status the Lambda API answers them with.

/** An error the Lambda API answers with `status` and `x-amzn-errortype: <name>`. */
export abstract class LambdaApiError extends Error {
  abstract override readonly name: string;
  abstract readonly status: number;
}

/** 404: no such function, version or alias. */
export class ResourceNotFound extends LambdaApiError {
  override readonly name = 'ResourceNotFoundException';
  readonly status = 404;
}

/** 400: a parameter has a value Lambda does not accept; the message names it. */
export class InvalidParameterValueException extends LambdaApiError {
  override readonly name = 'InvalidParameterValueException';
  readonly status = 400;
}

/** 412: the RevisionId given is not the resource's current one (someone changed it since). */
export class PreconditionFailedException extends LambdaApiError {
  override readonly name = 'PreconditionFailedException';
  readonly status = 412;
}

/** 409: the resource already exists, or is in a state that refuses the change. */
export class ResourceConflictException extends LambdaApiError {
  override readonly name = 'ResourceConflictException';
  readonly status = 409;
}

/** 429: the function's concurrency (here: an injected throttle) refused the invocation. */
export class TooManyRequestsException extends LambdaApiError {
  override readonly name = 'TooManyRequestsException';
  readonly status = 429;
}

/** The precondition message Lambda gives for a stale RevisionId. */
export function staleRevision(what: 'function' | 'alias'): PreconditionFailedException {
  return new PreconditionFailedException(
    `The Revision Id provided does not match the latest Revision Id. Call the ${
      what === 'alias' ? 'GetAlias' : 'GetFunction/GetFunctionConfiguration'
    } API to retrieve the latest Revision Id`,
  );
}
