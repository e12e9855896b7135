// The CloudWatch API's errors: exception name (`__type`), query-API code and HTTP status.

/**
 * An error the API answers with: its exception name, the query API's code (absent for protocol
 * errors, which the query API never had) and HTTP status.
 */
export class CloudWatchApiError extends Error {
  constructor(
    readonly type: string,
    readonly queryCode: string | undefined,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export const invalidValue = (message: string) =>
  new CloudWatchApiError('InvalidParameterValueException', 'InvalidParameterValue', message);
export const invalidCombination = (message: string) =>
  new CloudWatchApiError('InvalidParameterCombinationException', 'InvalidParameterCombination', message);
export const missingParameter = (name: string) =>
  new CloudWatchApiError(
    'MissingRequiredParameterException',
    'MissingParameter',
    `The parameter ${name} is required.`,
  );
export const invalidNextToken = (token: unknown) =>
  new CloudWatchApiError('InvalidNextToken', 'InvalidNextToken', `Invalid NextToken: ${String(token)}`);
