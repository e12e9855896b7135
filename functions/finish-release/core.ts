// Release step FinishRelease, after the last step baked healthy: the alias must route 100% to the
// new version (read back), then the model version becomes Production by a compare-and-set on the
// registry at the revision just read (so a stage change in between loses, and the release rolls
// back), the pointer is read back, the record closed and the lock let go. The old function version
// stays published as it was: `mlops rollback` flips back to it in one alias update.
import { ConflictError } from '../lib/errors.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import type { AliasControl } from '../lib/releases/alias-routing.ts';
import { describeRouting, routingAt, sameRouting } from '../lib/releases/alias-routing.ts';
import { ReleaseStateMismatch } from '../lib/releases/release-errors.ts';
import { describeOutcome, type ReleaseOutcome } from '../lib/releases/release-outcome.ts';
import { lockTarget, type ReleaseStore } from '../lib/releases/release-record.ts';
import { keyOf, modelLabel, parseStepInput, StepInput } from '../lib/releases/release-state.ts';

export interface FinishPorts {
  readonly alias: Pick<AliasControl, 'getAlias'>;
  readonly registry: Pick<ModelRegistry, 'getModel' | 'getProductionVersion' | 'promoteToProduction'>;
  readonly store: Pick<ReleaseStore, 'getRelease' | 'updateRelease' | 'releaseLock'>;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

export async function finishRelease(event: unknown, ports: FinishPorts): Promise<ReleaseOutcome> {
  const { release, published, progress } = parseStepInput(StepInput, event, 'FinishRelease');
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

  await ports.store.updateRelease(key, { status: 'promoting', updatedAt: ports.now().toISOString() });
  const actor = `release:${release.releaseId}`;
  const reason = `released by ${release.strategy} ${release.plan.map((p) => `${p}%`).join(' → ')} on function v${published.functionVersion}, healthy in every bake`;
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
  const outcome = describeOutcome({
    outcome: 'released',
    releaseId: release.releaseId,
    model: release.model,
    modelVersion: release.modelVersion,
    previousModelVersion: release.previousModelVersion,
    strategy: release.strategy,
    plan: release.plan,
    bakeSeconds: release.bakeSeconds,
    newFunctionVersion: published.functionVersion,
    previousFunctionVersion: release.previousFunctionVersion,
    routing: intent,
    at: at.toISOString(),
  });
  const closed = await ports.store.updateRelease(
    key,
    { status: 'succeeded', endedAt: at.toISOString(), updatedAt: at.toISOString(), reason: outcome.summary },
    { unlessAborted: true },
  );
  if (!closed)
    // `mlops rollback` came in during the promotion; the rollback path restores the registry too.
    throw new ReleaseStateMismatch(`a rollback was asked for while ${label} was being promoted`);
  await ports.store.releaseLock(lockTarget(release.functionName, release.alias), release.executionArn, at);
  ports.log('released', {
    releaseId: release.releaseId,
    model: release.model,
    version: release.modelVersion,
  });
  return outcome;
}
