// The shape of a synthesized CloudFormation template, parsed once so later stages can trust it.
import * as z from 'zod';

/** One resource of a template; `Properties` still holds unresolved intrinsics. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Condition?: string;
  readonly DependsOn?: string | readonly string[];
  readonly Metadata?: Readonly<Record<string, unknown>>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** A template parameter; CDK declares `BootstrapVersion` (an SSM-backed parameter) in every stack. */
export interface CfnParameter {
  readonly Type: string;
  readonly Default?: unknown;
  readonly Description?: string;
}

/** A stack output; `Value` still holds unresolved intrinsics. */
export interface CfnOutput {
  readonly Value: unknown;
  readonly Description?: string;
  readonly Condition?: string;
  readonly Export?: { readonly Name: unknown };
}

/** A CloudFormation template as `cdk synth` writes it. */
export interface CfnTemplate {
  readonly Resources: Readonly<Record<string, CfnResource>>;
  readonly Parameters?: Readonly<Record<string, CfnParameter>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Mappings?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly Outputs?: Readonly<Record<string, CfnOutput>>;
  readonly Rules?: Readonly<Record<string, unknown>>;
  readonly Transform?: unknown;
}

const resourceSchema = z.looseObject({
  Type: z.string().min(1),
  Properties: z.record(z.string(), z.unknown()).optional(),
  Condition: z.string().optional(),
  DependsOn: z.union([z.string(), z.array(z.string())]).optional(),
  Metadata: z.record(z.string(), z.unknown()).optional(),
  DeletionPolicy: z.string().optional(),
  UpdateReplacePolicy: z.string().optional(),
});

const templateSchema = z.looseObject({
  // CDK writes no Resources section for a stack without resources.
  Resources: z.record(z.string(), resourceSchema).default({}),
  Parameters: z
    .record(
      z.string(),
      z.looseObject({ Type: z.string(), Default: z.unknown(), Description: z.string().optional() }),
    )
    .optional(),
  Conditions: z.record(z.string(), z.unknown()).optional(),
  Mappings: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))).optional(),
  Outputs: z
    .record(
      z.string(),
      z.looseObject({
        Value: z.unknown(),
        Description: z.string().optional(),
        Condition: z.string().optional(),
        Export: z.looseObject({ Name: z.unknown() }).optional(),
      }),
    )
    .optional(),
  Rules: z.record(z.string(), z.unknown()).optional(),
  Transform: z.unknown().optional(),
});

/** Check that `json` is a template; throws naming `source` and each bad field. */
export function parseTemplate(json: unknown, source: string): CfnTemplate {
  const parsed = templateSchema.safeParse(json);
  if (parsed.success) return parsed.data as CfnTemplate;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new Error(`${source} is not a CloudFormation template: ${problems}`);
}

/** A resource with its logical id, as the runtime walks them. */
export interface LogicalResource {
  readonly logicalId: string;
  readonly resource: CfnResource;
}

/** The template's resources of one `type` (e.g. `AWS::DynamoDB::Table`), in template order. */
export function resourcesOfType(template: CfnTemplate, type: string): LogicalResource[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({ logicalId, resource }));
}

/** The logical id a `{ Ref: id }` value points at, or '' for anything else. */
export function refOf(value: unknown): string {
  const ref = (value as { Ref?: unknown } | null | undefined)?.Ref;
  return typeof ref === 'string' ? ref : '';
}
