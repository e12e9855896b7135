// The ARNs of local state machines and their executions, and reading them back.
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';

const PREFIX = `arn:aws:states:${DEFAULT_LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:`;

/** `arn:aws:states:us-east-1:000000000000:stateMachine:<name>` (what `Ref` gives in the template). */
export function stateMachineArn(name: string): string {
  return `${PREFIX}stateMachine:${name}`;
}

/** `arn:aws:states:us-east-1:000000000000:execution:<stateMachine>:<execution>`. */
export function executionArn(stateMachineName: string, executionName: string): string {
  return `${PREFIX}execution:${stateMachineName}:${executionName}`;
}

/** The state machine name of a state machine ARN (any region and account), or undefined. */
export function parseStateMachineArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:states:[^:]*:\d*:stateMachine:([^:]+)$/.exec(arn)?.[1];
}

/** The state machine and execution names of an execution ARN, or undefined. */
export function parseExecutionArn(
  arn: string,
): { stateMachineName: string; executionName: string } | undefined {
  const match = /^arn:aws[a-z-]*:states:[^:]*:\d*:execution:([^:]+):([^:]+)$/.exec(arn);
  return match?.[1] && match[2] ? { stateMachineName: match[1], executionName: match[2] } : undefined;
}
