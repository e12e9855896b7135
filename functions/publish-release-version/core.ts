// Release step PublishReleaseVersion: publish the predict function version that serves the new
// model version. Its environment is the live version's with MODEL_VERSION_PINS[model] set to the
// release's model version (other models' pins kept); `$LATEST` takes it, waits until updated, and
// a version is published and waited for until active. The published version's configuration is
// read back and must carry exactly those pins. Then the version is warmed: it loads its model
// before any user traffic reaches it, and a version that cannot serve its model stops the release.
import * as z from 'zod';
import type { AliasControl } from '../lib/releases/alias-routing.ts';
import { ReleaseRefused, ReleaseStateMismatch, WarmUpFailed } from '../lib/releases/release-errors.ts';
import { LOCK_TTL_MS, lockTarget, type ReleaseStore } from '../lib/releases/release-record.ts';
import {
  keyOf,
  modelLabel,
  type Published,
  parseStepInput,
  ReleaseContext,
} from '../lib/releases/release-state.ts';

/** The predict function's variable that ties a function version to model versions. */
export const PINS_VARIABLE = 'MODEL_VERSION_PINS';

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
  const pins = {
    ...readPins(live.environment, `live version v${live.version}`),
    [release.model]: release.modelVersion,
  };
  const environment: Record<string, string> = {
    ...live.environment,
    [PINS_VARIABLE]: JSON.stringify(sortedPins(pins)),
  };
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
  const expected = sortedPins(pins);
  if (JSON.stringify(sortedPins(readPinsBack)) !== JSON.stringify(expected))
    throw new ReleaseStateMismatch(
      `published v${version} pins ${JSON.stringify(sortedPins(readPinsBack))}, intended ${JSON.stringify(expected)}`,
    );
  const drifted = Object.keys({ ...environment, ...published.environment }).filter(
    (k) => k !== PINS_VARIABLE && environment[k] !== published.environment[k],
  );
  if (drifted.length > 0)
    throw new ReleaseStateMismatch(
      `published v${version} differs from the live version's configuration in ${drifted.join(', ')}`,
    );

  const warmed = await warmUp(ports.alias, release, version);
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

/** The pins a configuration carries (none: follows the registry's Production versions). */
export function readPins(
  environment: Readonly<Record<string, string>>,
  whose: string,
): Record<string, number> {
  const text = environment[PINS_VARIABLE];
  if (text === undefined || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ReleaseRefused(`${whose}: ${PINS_VARIABLE} is not valid JSON (${text})`);
  }
  const pins = z.record(z.string(), z.number().int().positive()).safeParse(parsed);
  if (!pins.success)
    throw new ReleaseRefused(`${whose}: ${PINS_VARIABLE} is not a {model: version} map (${text})`);
  return pins.data;
}

const sortedPins = (pins: Record<string, number>) =>
  Object.fromEntries(Object.entries(pins).sort(([a], [b]) => a.localeCompare(b)));

/**
 * A prediction request whose one instance has no features: the version resolves and loads its
 * model (what a cold start costs), then refuses the instance with a 400. 404 or 5xx mean it cannot
 * serve the model. Refusals emit no metrics and are not captured, so the comparison stays clean.
 */
export function warmUpEvent(model: string, index: number, releaseId: string) {
  return {
    resource: '/models/{model}/predict',
    path: `/models/${model}/predict`,
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    pathParameters: { model },
    body: JSON.stringify({ instances: [{}] }),
    isBase64Encoded: false,
    requestContext: { requestId: `${releaseId}-warm-up-${index}` },
  };
}

async function warmUp(alias: AliasControl, release: ReleaseContext, version: string): Promise<number> {
  const n = release.strategy === 'blue-green' ? WARM_INVOCATIONS['blue-green'] : WARM_INVOCATIONS.default;
  const outcomes = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      alias.invokeVersion(version, warmUpEvent(release.model, i, release.releaseId)),
    ),
  );
  for (const outcome of outcomes) {
    const payload = outcome.payload as { statusCode?: number; body?: string; errorMessage?: string } | null;
    if (outcome.functionError)
      throw new WarmUpFailed(
        `v${version} failed its warm-up (${outcome.functionError}): ${payload?.errorMessage ?? JSON.stringify(payload)}`,
      );
    const status = payload?.statusCode;
    if (typeof status !== 'number' || status >= 500 || status === 404)
      throw new WarmUpFailed(
        `v${version} cannot serve ${modelLabel(release)}: warm-up answered ${status ?? 'no status'} ${errorText(payload?.body)}`,
      );
  }
  return n;
}

function errorText(body: string | undefined): string {
  if (!body) return '';
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    return parsed.error?.message ?? body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}
