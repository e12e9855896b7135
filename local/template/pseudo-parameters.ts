// Values of `AWS::*` pseudo parameters and template `Parameters` for a stack run locally.
import type { CfnTemplate } from './cfn-template.ts';

/** The account id every local resource lives in (ARNs, `AWS::AccountId`); dynalite uses it too. */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** The region local resources live in unless the runtime is told otherwise. */
export const DEFAULT_LOCAL_REGION = 'us-east-1';
/**
 * What an SSM parameter `/cdk-bootstrap/<qualifier>/version` reads as locally: there is no
 * bootstrap stack, and any version satisfies the `CheckBootstrapVersion` rule CDK adds.
 */
export const LOCAL_BOOTSTRAP_VERSION = '99';

/** Removes the enclosing key (or list element), as `Ref: AWS::NoValue` does in CloudFormation. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** The stack-level facts pseudo parameters and template parameters are resolved from. */
export interface StackFacts {
  readonly stackName: string;
  /** @default DEFAULT_LOCAL_REGION */
  readonly region?: string;
  /** @default LOCAL_ACCOUNT_ID */
  readonly accountId?: string;
  /** The template, for its `Parameters` (and, in intrinsics, `Conditions` and `Mappings`). */
  readonly template?: CfnTemplate;
  /** Values of template parameters, overriding their `Default`s. */
  readonly parameterValues?: Readonly<Record<string, string | readonly string[]>>;
}

/** Thrown when a template value cannot be resolved locally; the message names what and where. */
export class TemplateResolutionError extends Error {
  override name = 'TemplateResolutionError';
}

/** `true` when `name` is an `AWS::*` pseudo parameter. */
export function isPseudoParameter(name: string): boolean {
  return name.startsWith('AWS::');
}

/** The value of pseudo parameter `name` (e.g. `AWS::Region`); `NO_VALUE` for `AWS::NoValue`. */
export function pseudoParameter(
  name: string,
  facts: StackFacts,
): string | readonly string[] | typeof NO_VALUE {
  const region = facts.region ?? DEFAULT_LOCAL_REGION;
  const accountId = facts.accountId ?? LOCAL_ACCOUNT_ID;
  switch (name) {
    case 'AWS::Region':
      return region;
    case 'AWS::AccountId':
      return accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return facts.stackName;
    case 'AWS::StackId':
      // A fixed id: local names and ARNs must be stable across restarts.
      return `arn:aws:cloudformation:${region}:${accountId}:stack/${facts.stackName}/00000000-0000-0000-0000-000000000000`;
    case 'AWS::NotificationARNs':
      return [];
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      throw new TemplateResolutionError(`unknown pseudo parameter ${name}`);
  }
}

/** `true` when the template declares parameter `name`. */
export function hasParameter(name: string, facts: StackFacts): boolean {
  return Object.hasOwn(facts.template?.Parameters ?? {}, name);
}

/**
 * The value of template parameter `name`: the override in `parameterValues`, else its `Default`
 * (list types split on commas). SSM-backed parameters have no local store: CDK's bootstrap
 * version reads as `LOCAL_BOOTSTRAP_VERSION`, any other must be given in `parameterValues`.
 */
export function templateParameter(name: string, facts: StackFacts): string | readonly string[] {
  const override = facts.parameterValues?.[name];
  if (override !== undefined) return override;
  const parameter = facts.template?.Parameters?.[name];
  if (!parameter) throw new TemplateResolutionError(`template has no parameter ${name}`);
  const fallback = parameter.Default;
  if (parameter.Type.startsWith('AWS::SSM::Parameter::Value<')) {
    if (typeof fallback === 'string' && /^\/cdk-bootstrap\/[^/]+\/version$/.test(fallback)) {
      return LOCAL_BOOTSTRAP_VERSION;
    }
    throw new TemplateResolutionError(
      `parameter ${name} reads SSM parameter ${String(fallback)}, which local has no store for: pass its value`,
    );
  }
  if (fallback === undefined) {
    throw new TemplateResolutionError(`parameter ${name} has no Default: pass its value`);
  }
  const text = Array.isArray(fallback) ? fallback.map(String).join(',') : String(fallback);
  return parameter.Type.startsWith('List<') || parameter.Type === 'CommaDelimitedList'
    ? text.split(',')
    : text;
}
