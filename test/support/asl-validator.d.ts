// Types for asl-validator, which ships none: the one function the tests call.
declare module 'asl-validator' {
  export interface AslValidationError {
    readonly 'Error code': string;
    readonly Message: string;
  }
  export interface AslValidatorOptions {
    /** Check JSONPath and reference paths. @default true */
    readonly checkPaths?: boolean;
    /** Check that Task resources are ARNs. @default true */
    readonly checkArn?: boolean;
  }
  /** Validate a state machine definition (it adds `QueryLanguage` to states: pass a copy). */
  export default function aslValidator(
    definition: unknown,
    options?: AslValidatorOptions,
  ): { isValid: boolean; errors: AslValidationError[] };
}
