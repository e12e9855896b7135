// Reads the state machines a stack declares: each one's local name, type and ASL text with
// its DefinitionSubstitutions applied, as CloudFormation would hand it to Step Functions.
import { localResourceName } from '../emulators/names.ts';
import type { StackResolution } from '../stack-resolution.ts';
import type { AssemblyStack } from '../template/cloud-assembly.ts';
import { resolveValue } from '../template/intrinsics.ts';
import { stateMachineArn } from './arns.ts';

/** One `AWS::StepFunctions::StateMachine` as the local engine runs it. */
export interface StateMachineSpec {
  readonly logicalId: string;
  /** Local name: `StateMachineName`, else derived from stack and logical id. */
  readonly name: string;
  readonly arn: string;
  /** Both run the same way locally; EXPRESS is kept for DescribeStateMachine. */
  readonly type: 'STANDARD' | 'EXPRESS';
  /** The ASL text after substitutions (what DescribeStateMachine answers). */
  readonly definition: string;
  /** The resolved DefinitionSubstitutions (e.g. function ARNs), for task integrations. */
  readonly substitutions?: Readonly<Record<string, string>>;
  readonly roleArn?: string;
}

/** A `${…}` in a definition that no DefinitionSubstitutions key fills. */
export class DefinitionSubstitutionError extends Error {
  override readonly name = 'DefinitionSubstitutionError';
}

/**
 * Replace each `${Key}` in `definition` with its substitution (as CloudFormation does, as
 * text: the ASL carries the quotes). Throws naming the first key that has no value.
 */
export function substituteDefinition(
  definition: string,
  substitutions: Readonly<Record<string, unknown>>,
): string {
  return definition.replace(/\$\{([^}]*)\}/g, (_, key: string) => {
    if (!Object.hasOwn(substitutions, key))
      throw new DefinitionSubstitutionError(
        `the definition uses \${${key}}, which DefinitionSubstitutions lacks`,
      );
    const value = substitutions[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    throw new DefinitionSubstitutionError(
      `DefinitionSubstitutions.${key} resolved to ${JSON.stringify(value)}, not a string, number or boolean`,
    );
  });
}

/**
 * The stack's state machines. One that cannot be read (an unresolvable intrinsic, a missing
 * substitution, a definition kept in S3) is left out with a warning naming it.
 */
export function readStateMachines(
  stack: AssemblyStack,
  resolution: StackResolution,
): { machines: StateMachineSpec[]; warnings: string[] } {
  const machines: StateMachineSpec[] = [];
  const warnings: string[] = [];
  for (const [logicalId, r] of Object.entries(stack.template.Resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const p = r.Properties ?? {};
    const resolve = (key: string) =>
      resolveValue(p[key], resolution.ctx, `Resources.${logicalId}.Properties.${key}`);
    try {
      const name =
        resolution.physical.get(logicalId) ?? localResourceName(stack.stackName, logicalId, 'stateMachine');
      const substitutions = (resolve('DefinitionSubstitutions') ?? {}) as Record<string, unknown>;
      const type = p.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
      const roleArn = resolveRole(() => resolve('RoleArn'));
      machines.push({
        logicalId,
        name,
        arn: stateMachineArn(name),
        type,
        definition: substituteDefinition(definitionText(logicalId, p, resolve), substitutions),
        substitutions: Object.fromEntries(Object.entries(substitutions).map(([k, v]) => [k, String(v)])),
        ...(roleArn ? { roleArn } : {}),
      });
    } catch (err) {
      warnings.push(`${logicalId}: state machine cannot run locally: ${(err as Error).message}`);
    }
  }
  return { machines, warnings };
}

function definitionText(
  logicalId: string,
  p: Readonly<Record<string, unknown>>,
  resolve: (key: string) => unknown,
): string {
  if (p.DefinitionString !== undefined) {
    const text = resolve('DefinitionString');
    if (typeof text !== 'string') throw new Error(`${logicalId}: DefinitionString is not a string`);
    return text;
  }
  if (p.Definition !== undefined) return JSON.stringify(resolve('Definition'));
  if (p.DefinitionS3Location !== undefined)
    throw new Error(
      'its definition is in S3 (DefinitionS3Location); inline it with DefinitionBody.fromString',
    );
  throw new Error('it has no DefinitionString or Definition');
}

/** The role is only reported back (IAM is not enforced locally): a role that does not resolve is left out. */
function resolveRole(resolve: () => unknown): string | undefined {
  try {
    const arn = resolve();
    return typeof arn === 'string' ? arn : undefined;
  } catch {
    return undefined;
  }
}
