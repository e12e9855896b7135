// Checks every release step makes before it acts: the registry's Production pointer is where the
// release found it, the release still holds its alias lock, and a rollback asked for by a person
// turns the step into a rollback.
import type { ModelRegistry } from '../registry/model-version.ts';
import { ReleaseStateMismatch } from './release-errors.ts';
import { LOCK_TTL_MS, lockTarget, type ReleaseRecord, type ReleaseStore } from './release-record.ts';
import type { Progress, ReleaseContext } from './release-state.ts';

/** Until the release promotes, the model's Production pointer must stay where it found it. */
export async function checkRegistry(
  ports: { readonly registry: Pick<ModelRegistry, 'getModel'> },
  release: ReleaseContext,
): Promise<void> {
  const head = await ports.registry.getModel(release.model);
  const production = head?.productionVersion ?? null;
  if (production !== release.previousModelVersion)
    throw new ReleaseStateMismatch(
      `${release.model}'s Production version is ${production === null ? 'none' : `v${production}`}, ` +
        `but was ${release.previousModelVersion === null ? 'none' : `v${release.previousModelVersion}`} ` +
        'when the release started: someone changed the registry during the release',
    );
}

/** The progress that sends the state machine to its rollback, when `mlops rollback` asked for one. */
export function abortedBy(record: ReleaseRecord | undefined, progress: Progress): Progress | undefined {
  const abort = record?.abortRequested;
  if (!abort) return undefined;
  return {
    ...progress,
    verdict: 'aborted',
    bakeComplete: false,
    waitSeconds: 0,
    reasons: [`rolled back by ${abort.by}: ${abort.reason}`],
  };
}

/**
 * Push the release's lock out by another TTL; a release that lost it (it expired and another
 * release took it) must not act on the alias any more.
 */
export async function holdLock(
  ports: { readonly store: Pick<ReleaseStore, 'renewLock'>; readonly now: () => Date },
  release: Pick<ReleaseContext, 'functionName' | 'alias' | 'executionArn' | 'releaseId'>,
): Promise<void> {
  const renewed = await ports.store.renewLock(
    lockTarget(release.functionName, release.alias),
    release.executionArn,
    new Date(ports.now().getTime() + LOCK_TTL_MS),
  );
  if (!renewed)
    throw new ReleaseStateMismatch(
      `release ${release.releaseId} no longer holds the lock on ${release.functionName}:${release.alias}`,
    );
}
