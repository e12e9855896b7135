// Queries on a synthesized template that the infra tests share: the one resource of a kind, the
// role a resource runs as, and what that role's policies allow.
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';

export interface PolicyStatement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Effect?: string;
  readonly Condition?: unknown;
}

/** Logical id of the single resource of `type` whose properties match; fails when not exactly one. */
export function idIn(t: Template, type: string, props: Record<string, unknown> = {}): string {
  const found = Object.keys(t.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found).toHaveLength(1);
  return found[0] ?? '';
}

/** `{ 'Fn::GetAtt': [id, attribute] }`. */
export const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });

/** The role a resource runs as: its `Role` (functions) or `RoleArn` (state machines) GetAtt's logical id. */
export function roleIn(t: Template, resourceId: string, property = 'Role'): string {
  const resources = t.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>;
  const ref = resources[resourceId]?.Properties?.[property] as { 'Fn::GetAtt': string[] } | undefined;
  return ref?.['Fn::GetAtt'][0] ?? '';
}

/** Statements of every policy attached to `roleId`. */
export function statementsIn(t: Template, roleId: string): PolicyStatement[] {
  const policies = t.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as PolicyStatement[]);
}

/** Every (action, resource, condition) a role is allowed, one line each, sorted. */
export function permissionLines(t: Template, roleId: string): string[] {
  return statementsIn(t, roleId)
    .flatMap((s) =>
      [s.Action]
        .flat()
        .flatMap((action) =>
          [s.Resource]
            .flat()
            .map((resource) =>
              [action, JSON.stringify(resource), s.Condition ? JSON.stringify(s.Condition) : '']
                .join(' ')
                .trim(),
            ),
        ),
    )
    .sort();
}
