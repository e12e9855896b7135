// Checks every release step makes before it acts: the registry's Production pointer is where the
// release found it, and a rollback asked for by a person turns the step into a rollback.
import type { ModelRegistry } from '../registry/model-version.ts';
import { ReleaseStateMismatch } from './release-errors.ts';
import type { ReleaseRecord } from './release-record.ts';
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
