// Moving an alias whole onto one version, as rollbacks and the release's hand back do: a
// conditional update at the revision just read (retried while the alias moves under it), never
// while a code release owns the alias, and always read back.
import {
  AliasChanged,
  type AliasControl,
  describeRouting,
  type Routing,
  routingOf,
  sameRouting,
} from './alias-routing.ts';
import { assertNoCodeDeployment, type CodeDeployPorts } from './code-deploy-guard.ts';
import { ReleaseStateMismatch } from './release-errors.ts';

/** Attempts at the flip when the alias keeps moving under it (a racing step of the release). */
const FLIP_ATTEMPTS = 3;

export interface FlipPorts {
  readonly alias: Pick<AliasControl, 'getAlias' | 'updateAlias' | 'functionName' | 'aliasName'>;
  /** CodeDeploy's deployments of the alias; absent when code releases are off. */
  readonly codeDeploy?: CodeDeployPorts;
}

/**
 * Set the alias to `target` unless it is there already, then read it back. CodeDeploymentInProgress
 * (before any write) while a code release shifts the alias; ReleaseStateMismatch when the read-back
 * differs. `what` names the change in errors (`rollback`, `hand back`).
 */
export async function flipTo(ports: FlipPorts, target: Routing, what: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await ports.alias.getAlias();
    if (sameRouting(current, target)) break;
    if (ports.codeDeploy) await assertNoCodeDeployment(ports.codeDeploy);
    try {
      await ports.alias.updateAlias(target, current.revisionId);
      break;
    } catch (err) {
      if (!(err instanceof AliasChanged) || attempt >= FLIP_ATTEMPTS) throw err;
    }
  }
  const readBack = await ports.alias.getAlias();
  if (!sameRouting(readBack, target))
    throw new ReleaseStateMismatch(
      `after the ${what} ${ports.alias.functionName}:${ports.alias.aliasName} routes ${describeRouting(readBack)}, ` +
        `intended ${describeRouting(routingOf(target))}`,
    );
}
