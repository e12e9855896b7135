// The Step Functions API's errors, by the names AWS gives them: the local API answers each
// with its name as `__type`, so SDK clients raise the same exception classes as on AWS.

/** Base of the errors a Step Functions API call answers with (HTTP 400). */
export class StepFunctionsApiError extends Error {}

export class ExecutionDoesNotExist extends StepFunctionsApiError {
  override readonly name = 'ExecutionDoesNotExist';
}

export class ExecutionAlreadyExists extends StepFunctionsApiError {
  override readonly name = 'ExecutionAlreadyExists';
}

export class StateMachineDoesNotExist extends StepFunctionsApiError {
  override readonly name = 'StateMachineDoesNotExist';
}

export class InvalidExecutionInput extends StepFunctionsApiError {
  override readonly name = 'InvalidExecutionInput';
}

export class InvalidArn extends StepFunctionsApiError {
  override readonly name = 'InvalidArn';
}

export class InvalidName extends StepFunctionsApiError {
  override readonly name = 'InvalidName';
}

export class InvalidToken extends StepFunctionsApiError {
  override readonly name = 'InvalidToken';
}

export class ValidationException extends StepFunctionsApiError {
  override readonly name = 'ValidationException';
}

/** A state machine the local runtime cannot run: its definition does not resolve or validate. */
export class InvalidDefinition extends Error {
  override readonly name = 'InvalidDefinition';
}

/** `waitForExecution` gave up: the execution is still RUNNING. */
export class ExecutionWaitTimedOut extends Error {
  override readonly name = 'ExecutionWaitTimedOut';
}
