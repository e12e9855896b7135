// Release step PublishReleaseVersion: publish the predict function version that serves the new
// model version. Its environment is the live version's with MODEL_VERSION_PINS[model] set to the
// release's model version (other models' pins kept); `$LATEST` takes it, waits until updated, and
// a version is published and waited for until active. The published version's configuration is
// read back and must carry exactly those pins. Then the version is warmed: it loads its model
// before any user traffic reaches it, and a version that cannot serve its model — or answers with
// another model version than its pin — stops the release.
import * as z from 'zod';
import type { AliasControl } from '../lib/releases/alias-routing.ts';
import { MODEL_VERSION_PINS_ENV, pinModel, readPins, sortedPins } from '../lib/releases/model-pins.ts';
import { ReleaseRefused, ReleaseStateMismatch, WarmUpFailed } from '../lib/releases/release-errors.ts';
import { LOCK_TTL_MS, lockTarget, type ReleaseStore } from '../lib/releases/release-record.ts';
import {
  keyOf,
  modelLabel,
  type Published,
  parseStepInput,
  ReleaseContext,
} from '../lib/releases/release-state.ts';
import { warmUp } from '../lib/releases/warm-up.ts';

/** Warm-up invocations before traffic: a smoke check, and for blue-green enough to take the flip. */
export const WARM_INVOCATIONS = { default: 2, 'blue-green': 10 } as const;

export const PublishInput = z.object({ release: ReleaseContext });

export interface PublishPorts {
  readonly alias: AliasControl;
  readonly store: Pick<ReleaseStore, 'updateRelease' | 'renewLock'>;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

export async function publishReleaseVersion(event: unknown, ports: PublishPorts): Promise<Published> {
  const { release } = parseStepInput(PublishInput, event, 'PublishReleaseVersion');
  const live = await ports.alias.getVersionConfig(release.previousFunctionVersion);
  const latest = await ports.alias.getVersionConfig('$LATEST');
  if (live.codeSha256 && latest.codeSha256 && live.codeSha256 !== latest.codeSha256)
    throw new ReleaseRefused(
      `${release.functionName}'s code ($LATEST, sha256 ${latest.codeSha256}) differs from the live ` +
        `version v${live.version}'s (${live.codeSha256}): a code deploy is unfinished; a model release ` +
        'would ship that code too. Let the code release finish first',
    );
  const { environment, pins: expected } = pinModel(
    live.environment,
    release.model,
    release.modelVersion,
    `live version v${live.version}`,
  );
  const version = await ports.alias.publishVersion(
    environment,
    `release ${release.releaseId}: ${modelLabel(release)} (from v${live.version})`,
  );
  if (version === release.previousFunctionVersion)
    throw new ReleaseStateMismatch(
      `publishing gave back v${version}, the live version itself: it already serves ${modelLabel(release)}`,
    );

  // Read back: the version must run exactly the intended configuration.
  const published = await ports.alias.getVersionConfig(version);
  const readPinsBack = readPins(published.environment, `published version v${version}`);
  if (JSON.stringify(sortedPins(readPinsBack)) !== JSON.stringify(expected))
    throw new ReleaseStateMismatch(
      `published v${version} pins ${JSON.stringify(sortedPins(readPinsBack))}, intended ${JSON.stringify(expected)}`,
    );
  const drifted = Object.keys({ ...environment, ...published.environment }).filter(
    (k) => k !== MODEL_VERSION_PINS_ENV && environment[k] !== published.environment[k],
  );
  if (drifted.length > 0)
    throw new ReleaseStateMismatch(
      `published v${version} differs from the live version's configuration in ${drifted.join(', ')}`,
    );

  const warmed = await warmPublished(ports.alias, release, version);
  await ports.store.updateRelease(keyOf(release), {
    newFunctionVersion: version,
    updatedAt: ports.now().toISOString(),
  });
  await ports.store.renewLock(
    lockTarget(release.functionName, release.alias),
    release.executionArn,
    new Date(ports.now().getTime() + LOCK_TTL_MS),
  );
  ports.log('version published', { releaseId: release.releaseId, version, pins: expected, warmed });
  return { functionVersion: version, pins: expected, warmed };
}

/**
 * Warm the new version before any traffic: it loads its model, and every answer that names the
 * model version it served must name the release's (its pin read back by the running code).
 */
async function warmPublished(alias: AliasControl, release: ReleaseContext, version: string): Promise<number> {
  const n = release.strategy === 'blue-green' ? WARM_INVOCATIONS['blue-green'] : WARM_INVOCATIONS.default;
  const served = await warmUp((v, event) => alias.invokeVersion(v, event), {
    version,
    model: release.model,
    invocations: n,
    requestIdPrefix: release.releaseId,
    subject: `v${version}`,
    serving: modelLabel(release),
  });
  const other = served.find((v) => v !== undefined && v !== release.modelVersion);
  if (other !== undefined)
    throw new WarmUpFailed(`v${version} serves ${release.model} v${other}, not ${modelLabel(release)}`);
  return n;
}
