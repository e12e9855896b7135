// Release step FinishRelease, after the last step baked healthy, in two phases the state machine
// runs with a wait between them.
// promote: the alias must route 100% to the new (pinned) version (read back); then, unless a code
//   release owns the alias, the model version becomes Production by a compare-and-set on the
//   registry at the revision just read (so a stage change in between loses, and the release rolls
//   back), and the pointer is read back. The state machine then waits out the predict function's
//   registry cache (`$.promotion.waitSeconds`).
// hand-back: the alias goes back, at rest, to the version the release started from. That version
//   is CloudFormation's and pins no model: it serves the registry's Production version, the new
//   one now. CodeDeploy refuses the next `cdk deploy` while the alias is on any other version
//   (INVALID_LAMBDA_CONFIGURATION), so the release must not leave it on its pinned version. The
//   base version is warmed first and every answer must name the new model version; if it does not,
//   the alias stays on the pinned version (which serves the new model) and the release ends with
//   AliasNotHandedBack saying what to do. Then the record is closed and the lock let go. The pinned
//   version stays published as it was.
import * as z from 'zod';
import { ConflictError } from '../lib/errors.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import { flipTo } from '../lib/releases/alias-flip.ts';
import type { AliasControl, Routing } from '../lib/releases/alias-routing.ts';
import { describeRouting, routingAt, sameRouting } from '../lib/releases/alias-routing.ts';
import { assertNoCodeDeployment, type CodeDeployPorts } from '../lib/releases/code-deploy-guard.ts';
import { ReleaseStateMismatch, WarmUpFailed } from '../lib/releases/release-errors.ts';
import { describeOutcome, type ReleaseOutcome } from '../lib/releases/release-outcome.ts';
import { LOCK_TTL_MS, lockTarget, type ReleaseStore } from '../lib/releases/release-record.ts';
import {
  keyOf,
  modelLabel,
  type Progress,
  Promotion,
  type Published,
  parseStepInput,
  type ReleaseContext,
  StepInput,
} from '../lib/releases/release-state.ts';
import { warmUp } from '../lib/releases/warm-up.ts';

export const FinishInput = z.discriminatedUnion('phase', [
  StepInput.extend({ phase: z.literal('promote') }),
  StepInput.extend({ phase: z.literal('hand-back'), promotion: Promotion }),
]);

/** The base version takes the whole alias at once: warmed like a blue-green flip. */
export const HAND_BACK_WARM_INVOCATIONS = 10;
/** Added to the registry cache TTL before the hand back (clock skew, a read in flight). */
export const HAND_BACK_MARGIN_SECONDS = 1;

export interface FinishPorts {
  readonly alias: Pick<
    AliasControl,
    'getAlias' | 'updateAlias' | 'invokeVersion' | 'functionName' | 'aliasName'
  >;
  readonly registry: Pick<ModelRegistry, 'getModel' | 'getProductionVersion' | 'promoteToProduction'>;
  readonly store: Pick<ReleaseStore, 'getRelease' | 'updateRelease' | 'releaseLock' | 'renewLock'>;
  /** How long the predict function reuses a registry answer (its REGISTRY_CACHE_TTL_MS). */
  readonly registryCacheTtlMs: number;
  /** CodeDeploy's deployments of the alias (code releases); absent when they are off. */
  readonly codeDeploy?: CodeDeployPorts;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

/** `promote` returns `$.promotion`; `hand-back` returns the release's outcome. */
export async function finishRelease(event: unknown, ports: FinishPorts): Promise<Promotion | ReleaseOutcome> {
  const input = parseStepInput(FinishInput, event, 'FinishRelease');
  return input.phase === 'promote'
    ? promote(input.release, input.published, input.progress, ports)
    : handBack(input.release, input.published, ports);
}

async function promote(
  release: ReleaseContext,
  published: Published,
  progress: Progress,
  ports: FinishPorts,
): Promise<Promotion> {
  const key = keyOf(release);
  const label = modelLabel(release);
  const record = await ports.store.getRelease(key);
  if (record?.abortRequested)
    throw new ReleaseStateMismatch(
      `a rollback was asked for by ${record.abortRequested.by} before ${label} was promoted: ${record.abortRequested.reason}`,
    );
  if (!progress.isLastStep || !progress.bakeComplete)
    throw new ReleaseStateMismatch(
      `FinishRelease at step ${progress.stepIndex + 1} of ${release.plan.length} before its bake completed`,
    );
  const intent = routingAt(release.previousFunctionVersion, published.functionVersion, 100);
  const live = await ports.alias.getAlias();
  if (!sameRouting(live, intent))
    throw new ReleaseStateMismatch(
      `before promotion ${release.functionName}:${release.alias} routes ${describeRouting(live)}, intended ${describeRouting(intent)}`,
    );
  // A code release owns the alias: the release stops without promoting.
  if (ports.codeDeploy) await assertNoCodeDeployment(ports.codeDeploy);

  await ports.store.updateRelease(key, { status: 'promoting', updatedAt: ports.now().toISOString() });
  const actor = `release:${release.releaseId}`;
  const reason =
    `released by ${release.strategy} ${release.plan.map((p) => `${p}%`).join(' → ')} on function v${published.functionVersion}, healthy in every bake` +
    (record?.decided ? `; ${record.decided.summary}` : '');
  const head = await ports.registry.getModel(release.model);
  const production = head?.productionVersion ?? null;
  // Already promoted by an earlier attempt: calling without a revision completes its derived writes.
  const complete = () =>
    ports.registry.promoteToProduction(release.model, release.modelVersion, { actor, reason });
  if (production === release.modelVersion) await complete();
  else {
    if (production !== release.previousModelVersion)
      throw new ReleaseStateMismatch(
        `${release.model}'s Production version moved to ${production === null ? 'none' : `v${production}`} during the release ` +
          `(it was ${release.previousModelVersion === null ? 'none' : `v${release.previousModelVersion}`}): not promoting ${label}`,
      );
    try {
      await ports.registry.promoteToProduction(release.model, release.modelVersion, {
        actor,
        reason,
        expectedRevision: head?.stageRevision ?? 0,
      });
    } catch (err) {
      if (!(err instanceof ConflictError || (err as Error).name === 'ConflictError')) throw err;
      // A retry whose first attempt's write won: the revision moved because of it.
      const now = await ports.registry.getProductionVersion(release.model);
      if (now?.version !== release.modelVersion)
        throw new ReleaseStateMismatch(
          `the stages of ${release.model} changed while ${label} was being promoted (Production is ` +
            `${now ? `v${now.version}` : 'none'}): not promoting it`,
        );
      await complete();
    }
  }
  const readBack = await ports.registry.getProductionVersion(release.model);
  if (readBack?.version !== release.modelVersion)
    throw new ReleaseStateMismatch(
      `after promotion ${release.model}'s Production version reads ${readBack ? `v${readBack.version}` : 'none'}, intended v${release.modelVersion}`,
    );

  const at = ports.now();
  await ports.store.renewLock(
    lockTarget(release.functionName, release.alias),
    release.executionArn,
    new Date(at.getTime() + LOCK_TTL_MS),
  );
  const waitSeconds = Math.ceil(ports.registryCacheTtlMs / 1000) + HAND_BACK_MARGIN_SECONDS;
  ports.log('promoted', {
    releaseId: release.releaseId,
    model: release.model,
    version: release.modelVersion,
    handBackInSeconds: waitSeconds,
  });
  return { promotedAt: at.toISOString(), waitSeconds };
}

async function handBack(
  release: ReleaseContext,
  published: Published,
  ports: FinishPorts,
): Promise<ReleaseOutcome> {
  const key = keyOf(release);
  const label = modelLabel(release);
  const record = await ports.store.getRelease(key);
  if (record?.abortRequested)
    // `mlops rollback` came in after the promotion; the rollback path restores the registry.
    throw new ReleaseStateMismatch(
      `a rollback was asked for by ${record.abortRequested.by} after ${label} was promoted: ${record.abortRequested.reason}`,
    );
  const production = await ports.registry.getProductionVersion(release.model);
  if (production?.version !== release.modelVersion)
    throw new ReleaseStateMismatch(
      `${release.model}'s Production version is ${production ? `v${production.version}` : 'none'}, not ${label} ` +
        'as the release promoted it: someone changed the registry before the alias was handed back',
    );
  const base: Routing = { version: release.previousFunctionVersion };
  const pinned: Routing = { version: published.functionVersion };
  const live = await ports.alias.getAlias();
  // A retried hand back may find it done.
  if (!sameRouting(live, base)) {
    if (!sameRouting(live, pinned))
      throw new ReleaseStateMismatch(
        `before the hand back ${release.functionName}:${release.alias} routes ${describeRouting(live)}, ` +
          `intended ${describeRouting(pinned)}: something else changed it`,
      );
    if (ports.codeDeploy) await assertNoCodeDeployment(ports.codeDeploy);
    const refusal = await checkBaseServes(ports, release);
    if (refusal) return notHandedBack(ports, release, published, refusal);
    await flipTo(ports, base, 'hand back');
  }
  return close(ports, release, published, base, 'released');
}

/**
 * Warm the base version and make sure every answer names the new model version: why not, or
 * undefined when it serves it.
 */
async function checkBaseServes(ports: FinishPorts, release: ReleaseContext): Promise<string | undefined> {
  const base = release.previousFunctionVersion;
  let served: Array<number | undefined>;
  try {
    served = await warmUp((v, event) => ports.alias.invokeVersion(v, event), {
      version: base,
      model: release.model,
      invocations: HAND_BACK_WARM_INVOCATIONS,
      requestIdPrefix: `${release.releaseId}-hand-back`,
      subject: `v${base}`,
      serving: modelLabel(release),
    });
  } catch (err) {
    if (err instanceof WarmUpFailed) return err.message;
    throw err;
  }
  const other = served.filter((v) => v !== release.modelVersion);
  if (other.length === 0) return undefined;
  const named = [...new Set(other.map((v) => (v === undefined ? 'no model version' : `v${v}`)))];
  return (
    `v${base} answered ${other.length} of ${served.length} warm-up requests with ${named.join(', ')}, ` +
    `not ${modelLabel(release)}`
  );
}

/** The check failed: the alias stays on the pinned version, which serves the new model. */
async function notHandedBack(
  ports: FinishPorts,
  release: ReleaseContext,
  published: Published,
  reason: string,
): Promise<ReleaseOutcome> {
  ports.log('alias not handed back', { releaseId: release.releaseId, reason });
  return close(ports, release, published, { version: published.functionVersion }, 'not-handed-back', reason);
}

/** Close the record (unless a rollback was asked for meanwhile) and let go of the lock. */
async function close(
  ports: FinishPorts,
  release: ReleaseContext,
  published: Published,
  routing: Routing,
  kind: 'released' | 'not-handed-back',
  reason?: string,
): Promise<ReleaseOutcome> {
  const at = ports.now();
  const outcome = describeOutcome({
    outcome: kind,
    ...(kind === 'not-handed-back' ? { error: 'AliasNotHandedBack' } : {}),
    releaseId: release.releaseId,
    model: release.model,
    modelVersion: release.modelVersion,
    previousModelVersion: release.previousModelVersion,
    strategy: release.strategy,
    plan: release.plan,
    bakeSeconds: release.bakeSeconds,
    newFunctionVersion: published.functionVersion,
    previousFunctionVersion: release.previousFunctionVersion,
    routing,
    ...(reason ? { reason } : {}),
    at: at.toISOString(),
  });
  const closed = await ports.store.updateRelease(
    keyOf(release),
    {
      status: 'succeeded',
      routing,
      endedAt: at.toISOString(),
      updatedAt: at.toISOString(),
      reason: outcome.summary,
    },
    { unlessAborted: true },
  );
  if (!closed)
    // `mlops rollback` came in during the hand back; the rollback path restores the registry too.
    throw new ReleaseStateMismatch(
      `a rollback was asked for while ${modelLabel(release)} was being handed back`,
    );
  await ports.store.releaseLock(lockTarget(release.functionName, release.alias), release.executionArn, at);
  ports.log(kind === 'released' ? 'released' : 'released, alias not handed back', {
    releaseId: release.releaseId,
    model: release.model,
    version: release.modelVersion,
    live: describeRouting(routing),
  });
  return outcome;
}
