// Points the predict function's `shadow` alias at a published version that serves the challenger:
// the live version's environment with `MODEL_VERSION_PINS[model]` set to the challenger (other
// models' pins kept), published from $LATEST, then the alias updated (conditional on its
// revision) and read back. Lambda calls go through the releases' AliasControl port (one per
// alias), so the shadow uses exactly the calls and waits of every other release. Safe to repeat:
// a retried start finds the alias already right, or republishes an unchanged $LATEST, which
// Lambda answers with the version it published before.
import { ConflictError } from '../errors.ts';
import { type AliasControl, describeRouting, sameRouting } from './alias-routing.ts';
import { pinModel, readPins } from './model-pins.ts';

/** What the `shadow` alias runs, as read back from Lambda. */
export interface ShadowAliasState {
  /** Published version the `shadow` alias points at. */
  readonly functionVersion: string;
  /** That version's model pins. */
  readonly pins: Readonly<Record<string, number>>;
  /** The `live` alias's primary version, whose configuration the shadow version copies. */
  readonly liveVersion: string;
}

/** What was read back differs from what was set: fail loudly, never report a shadow that is not running. */
export class ShadowAliasMismatch extends Error {
  override readonly name = 'ShadowAliasMismatch';
}

/** Same keys and values, in any order. */
const sameVariables = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
};

export interface PointShadowInput {
  readonly model: string;
  readonly challengerVersion: number;
  /** Named in the published version's description. */
  readonly releaseId: string;
}

/**
 * Point `shadow` (the `shadow` alias) at a version serving `model` at `challengerVersion`,
 * derived from what `live` (the `live` alias) serves, and read it back.
 */
export async function pointShadowAtChallenger(
  live: AliasControl,
  shadow: AliasControl,
  input: PointShadowInput,
): Promise<ShadowAliasState> {
  const { model, challengerVersion } = input;
  const where = (version: string) => `${live.functionName}:${version}`;
  const liveVersion = (await live.getAlias()).version;
  const liveConfig = await live.getVersionConfig(liveVersion);
  const wanted = pinModel(liveConfig.environment, model, challengerVersion, where(liveVersion)).environment;

  const current = await shadow.getAlias();
  let target: string | undefined;
  if (current.version !== '$LATEST') {
    // A retried start: the alias may already run exactly this configuration.
    const config = await shadow.getVersionConfig(current.version);
    if (config.codeSha256 === liveConfig.codeSha256 && sameVariables(config.environment, wanted))
      target = current.version;
  }
  if (target === undefined) {
    const latest = await shadow.getVersionConfig('$LATEST');
    // The challenger must run the champion's code: only the model may differ in a comparison.
    if (liveConfig.codeSha256 && latest.codeSha256 && latest.codeSha256 !== liveConfig.codeSha256)
      throw new ConflictError(
        `${where('$LATEST')} has other code (${latest.codeSha256}) than the live version ${liveVersion} (${liveConfig.codeSha256}): a code deployment is in progress or unreleased; let it finish before a shadow`,
      );
    target = await shadow.publishVersion(
      wanted,
      `shadow: ${model} v${challengerVersion} (${input.releaseId})`,
    );
  }
  if (!sameRouting(current, { version: target }))
    await shadow.updateAlias({ version: target }, current.revisionId);

  const readBack = await shadow.getAlias();
  if (!sameRouting(readBack, { version: target }))
    throw new ShadowAliasMismatch(
      `${shadow.functionName}:${shadow.aliasName} reads back as ${describeRouting(readBack)}, not v${target} 100%`,
    );
  const pins = readPins((await shadow.getVersionConfig(target)).environment, where(target));
  if (pins[model] !== challengerVersion)
    throw new ShadowAliasMismatch(
      `${where(target)} pins ${model} to ${pins[model] === undefined ? 'nothing' : `v${pins[model]}`}, not to v${challengerVersion}`,
    );
  return { functionVersion: target, pins, liveVersion };
}
