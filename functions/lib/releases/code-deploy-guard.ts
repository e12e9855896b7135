// Who may write the predict function's `live` alias right now. A `cdk deploy` that changes the
// function hands the alias to CodeDeploy (a canary with alarm rollback); a model release writes
// it at run time. This module is the model release's side of that rule: it refuses to start, or
// to take its next step, while a CodeDeploy deployment of the alias's deployment group is under
// way, and it refuses an alias that is not at rest. The rule itself is stated on `CodeRelease`
// (infra/constructs/code-release.ts) and in the README ("Who owns the live alias").
import {
  type CodeDeployClient,
  type DeploymentStatus,
  paginateListDeployments,
} from '@aws-sdk/client-codedeploy';
import * as z from 'zod';
import { NotConfigured, PlatformError } from '../errors.ts';
import { describeRouting, type Routing, routingOf } from './alias-routing.ts';

/** Environment variables that name the deployment group (set by `CodeRelease.bindTo`). */
export const CODE_DEPLOY_ENV = {
  application: 'CODE_DEPLOY_APPLICATION',
  deploymentGroup: 'CODE_DEPLOY_DEPLOYMENT_GROUP',
} as const;

/**
 * Statuses of a deployment that has not finished, so CodeDeploy owns (or is about to own) the
 * alias: waiting to start (`Created`, `Queued`), shifting traffic (`InProgress`), waiting for a
 * go-ahead (`Ready`) or in its final bake (`Baking`).
 */
export const ACTIVE_DEPLOYMENT_STATUSES = [
  'Created',
  'Queued',
  'InProgress',
  'Ready',
  'Baking',
] as const satisfies readonly DeploymentStatus[];

/** The CodeDeploy deployment group that manages the alias. */
export interface CodeDeployTarget {
  readonly applicationName: string;
  readonly deploymentGroupName: string;
}

/** Port: what the guard needs to know from CodeDeploy. */
export interface CodeDeployPorts {
  /** Ids of the deployment group's deployments in one of `ACTIVE_DEPLOYMENT_STATUSES`. */
  listActiveDeployments(): Promise<readonly string[]>;
}

/** The ports when code releases are off: nothing but model releases ever shifts the alias. */
export const NO_CODE_RELEASES: CodeDeployPorts = { listActiveDeployments: async () => [] };

/** A code release (`cdk deploy`) is shifting the alias: a model release must not touch it (409). */
export class CodeDeploymentInProgress extends PlatformError {
  override readonly name = 'CodeDeploymentInProgress';
  readonly status = 409;
  constructor(readonly deploymentIds: readonly string[]) {
    super(
      `a code release is shifting the live alias (CodeDeploy deployment ${deploymentIds.join(', ')}); ` +
        'run the model release after it has finished',
      { deploymentIds },
    );
  }
}

/**
 * The alias routes to a second version although no release owns it: a shift that was
 * interrupted. A model release must not start from it (409); `mlops rollback` settles it.
 */
export class AliasNotAtRest extends PlatformError {
  override readonly name = 'AliasNotAtRest';
  readonly status = 409;
}

/** True while a CodeDeploy deployment of the alias's deployment group has not finished. */
export async function isCodeDeploymentInProgress(ports: CodeDeployPorts): Promise<boolean> {
  return (await ports.listActiveDeployments()).length > 0;
}

/**
 * Throw `CodeDeploymentInProgress` (naming the deployments) if CodeDeploy owns the alias. A model
 * release calls it before it starts and again before every write to the alias, since a
 * `cdk deploy` can begin in the middle of a release.
 */
export async function assertNoCodeDeployment(ports: CodeDeployPorts): Promise<void> {
  const active = await ports.listActiveDeployments();
  if (active.length > 0) throw new CodeDeploymentInProgress(active);
}

/**
 * At rest: the alias sends all traffic to one version. That is the only state a model release may
 * start from and the state it must leave behind; CodeDeploy, too, starts and ends there.
 */
export function isAtRest(alias: Routing): boolean {
  return alias.additional === undefined || alias.additional.weight <= 0;
}

/**
 * The check a model release makes before it starts: no code release under way, and the alias at
 * rest. Returns the version the release starts from (the one it must hand the alias back to).
 */
export async function assertModelReleaseMayStart(
  alias: Routing,
  ports: CodeDeployPorts,
): Promise<{ baseVersion: string }> {
  await assertNoCodeDeployment(ports);
  if (!isAtRest(alias)) {
    throw new AliasNotAtRest(
      `the live alias is not at rest (${describeRouting(alias)}) and no release owns it; ` +
        'settle it with `mlops rollback` before releasing',
      { routing: routingOf(alias) },
    );
  }
  return { baseVersion: alias.version };
}

const TargetEnv = z
  .object({
    [CODE_DEPLOY_ENV.application]: z.string().min(1).optional(),
    [CODE_DEPLOY_ENV.deploymentGroup]: z.string().min(1).optional(),
  })
  .refine(
    (env) =>
      (env[CODE_DEPLOY_ENV.application] === undefined) ===
      (env[CODE_DEPLOY_ENV.deploymentGroup] === undefined),
    { message: `set both ${CODE_DEPLOY_ENV.application} and ${CODE_DEPLOY_ENV.deploymentGroup}, or neither` },
  );

/**
 * The deployment group named by the environment, or `undefined` when code releases are off (the
 * stack's `codeRelease.enabled: false`: nothing else ever shifts the alias). Throws naming the
 * variables when only one is set.
 */
export function codeDeployTargetFromEnv(env: NodeJS.ProcessEnv = process.env): CodeDeployTarget | undefined {
  const parsed = TargetEnv.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => i.message).join('; ');
    throw new Error(`invalid function configuration: ${problems}`);
  }
  const applicationName = parsed.data[CODE_DEPLOY_ENV.application];
  const deploymentGroupName = parsed.data[CODE_DEPLOY_ENV.deploymentGroup];
  return applicationName && deploymentGroupName ? { applicationName, deploymentGroupName } : undefined;
}

const MISSING_RESOURCE = new Set([
  'ApplicationDoesNotExistException',
  'DeploymentGroupDoesNotExistException',
  'DeploymentGroupNameRequiredException',
  'ApplicationNameRequiredException',
]);

/**
 * The AWS adapter: ListDeployments of the deployment group, filtered to the active statuses, all
 * pages. With no target (code releases off) it reports no deployment without calling AWS.
 */
export function codeDeployPorts(
  client: CodeDeployClient,
  target: CodeDeployTarget | undefined,
): CodeDeployPorts {
  return {
    async listActiveDeployments() {
      if (!target) return [];
      const ids: string[] = [];
      try {
        for await (const page of paginateListDeployments(
          { client },
          {
            applicationName: target.applicationName,
            deploymentGroupName: target.deploymentGroupName,
            includeOnlyStatuses: [...ACTIVE_DEPLOYMENT_STATUSES],
          },
        )) {
          ids.push(...(page.deployments ?? []));
        }
      } catch (err) {
        if (err instanceof Error && MISSING_RESOURCE.has(err.name)) {
          throw new NotConfigured(
            `CodeDeploy deployment group ${target.applicationName}/${target.deploymentGroupName} ` +
              `(${CODE_DEPLOY_ENV.application}, ${CODE_DEPLOY_ENV.deploymentGroup}) cannot be read: ${err.message}`,
          );
        }
        throw err;
      }
      return ids;
    },
  };
}
