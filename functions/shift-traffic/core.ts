// Release step ShiftTraffic: move the `live` alias to the plan's next step. Before: the alias must
// still be where the release left it (and the registry's Production pointer where it was), else
// something else changed them and the release stops. The update names the revision it read, so
// a change in between fails it too. After: the alias is read back and must route exactly the
// step's intent. A retry after an update whose answer was lost finds the intent already in place.

import type { ModelRegistry } from '../lib/registry/model-version.ts';
import type { AliasControl } from '../lib/releases/alias-routing.ts';
import { AliasChanged, describeRouting, routingAt, sameRouting } from '../lib/releases/alias-routing.ts';
import { assertNoCodeDeployment, type CodeDeployPorts } from '../lib/releases/code-deploy-guard.ts';
import { ReleaseStateMismatch } from '../lib/releases/release-errors.ts';
import { abortedBy, checkRegistry } from '../lib/releases/release-guards.ts';
import { LOCK_TTL_MS, lockTarget, type ReleaseStore } from '../lib/releases/release-record.ts';
import {
  bakeSecondsOf,
  keyOf,
  type Progress,
  parseStepInput,
  StepInput,
} from '../lib/releases/release-state.ts';

export interface ShiftPorts {
  readonly alias: Pick<AliasControl, 'getAlias' | 'updateAlias'>;
  readonly registry: Pick<ModelRegistry, 'getModel'>;
  readonly store: Pick<ReleaseStore, 'getRelease' | 'updateRelease' | 'renewLock'>;
  /** CodeDeploy's deployments of the alias (code releases); absent when they are off. */
  readonly codeDeploy?: CodeDeployPorts;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

export async function shiftTraffic(event: unknown, ports: ShiftPorts): Promise<Progress> {
  const { release, published, progress } = parseStepInput(StepInput, event, 'ShiftTraffic');
  const abort = abortedBy(await ports.store.getRelease(keyOf(release)), progress);
  if (abort) return abort;

  const next = progress.stepIndex + 1;
  const percent = release.plan[next];
  if (percent === undefined)
    throw new ReleaseStateMismatch(`no step ${next + 1} in the plan ${release.plan.join(',')}`);
  const challenger = published.functionVersion;
  const champion = release.previousFunctionVersion;
  const before = routingAt(champion, challenger, progress.stepIndex < 0 ? 0 : progress.percent);
  const intent = routingAt(champion, challenger, percent);

  await checkRegistry(ports, release);
  // A `cdk deploy` may have begun during the bake: its CodeDeploy shift owns the alias.
  if (ports.codeDeploy) await assertNoCodeDeployment(ports.codeDeploy);
  const current = await ports.alias.getAlias();
  // The step starts when the alias is written, not after its read back: a champion/challenger's
  // window must hold every request the slice served.
  const now = ports.now();
  if (!sameRouting(current, intent)) {
    if (!sameRouting(current, before))
      throw new ReleaseStateMismatch(
        `before step ${next + 1} ${release.functionName}:${release.alias} routes ${describeRouting(current)}, ` +
          `but the release left it at ${describeRouting(before)}: something else changed it`,
      );
    try {
      await ports.alias.updateAlias(intent, current.revisionId);
    } catch (err) {
      if (err instanceof AliasChanged) throw new ReleaseStateMismatch(err.message);
      throw err;
    }
  }
  const readBack = await ports.alias.getAlias();
  if (!sameRouting(readBack, intent))
    throw new ReleaseStateMismatch(
      `after step ${next + 1} ${release.functionName}:${release.alias} routes ${describeRouting(readBack)}, ` +
        `intended ${describeRouting(intent)}`,
    );

  const bakeSeconds = bakeSecondsOf(release, next);
  const bakeUntil = new Date(now.getTime() + bakeSeconds * 1000);
  const step = { index: next, percent, startedAt: now.toISOString(), bakeUntil: bakeUntil.toISOString() };
  await ports.store.updateRelease(keyOf(release), {
    status: 'baking',
    routing: intent,
    step,
    updatedAt: now.toISOString(),
  });
  await ports.store.renewLock(
    lockTarget(release.functionName, release.alias),
    release.executionArn,
    new Date(now.getTime() + LOCK_TTL_MS),
  );
  ports.log('traffic shifted', {
    releaseId: release.releaseId,
    step: next + 1,
    of: release.plan.length,
    routing: describeRouting(intent),
    bakeUntil: step.bakeUntil,
  });
  return {
    stepIndex: next,
    percent,
    stepStartedAt: step.startedAt,
    bakeUntil: step.bakeUntil,
    waitSeconds: Math.min(release.checkIntervalSeconds, bakeSeconds),
    checks: 0,
    verdict: 'baking',
    bakeComplete: false,
    isLastStep: next === release.plan.length - 1,
    isDecisionStep: release.decision !== undefined && next === 0,
    reasons: [],
  };
}
