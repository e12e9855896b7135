// The release errors. Their names are what statemachines/release.asl.json and `mlops release`
// see (the Fail state's error, an execution's error), so renaming one is a breaking change.
import { PlatformError } from '../errors.ts';

/** The release may not start: the version is not Staging, an alarm fires, the alias is mid-shift … */
export class ReleaseRefused extends PlatformError {
  override readonly name = 'ReleaseRefused';
  readonly status = 409;
}

/** Another release holds the alias (one release per alias at a time). */
export class ReleaseInProgress extends PlatformError {
  override readonly name = 'ReleaseInProgress';
  readonly status = 409;
}

/**
 * What is live differs from what the release intended (read back after a step), or changed under
 * it between steps: another release, a code deploy or a person moved the alias or the registry.
 */
export class ReleaseStateMismatch extends PlatformError {
  override readonly name = 'ReleaseStateMismatch';
  readonly status = 409;
}

/** The new version could not serve its model before any traffic reached it. */
export class WarmUpFailed extends PlatformError {
  override readonly name = 'WarmUpFailed';
  readonly status = 503;
}

/** `mlops rollback` found nothing to roll back (no release, or its last one already ended rolled back). */
export class NothingToRollBack extends PlatformError {
  override readonly name = 'NothingToRollBack';
  readonly status = 409;
}
