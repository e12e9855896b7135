// Release step StartShadow: the challenger starts answering copies of the model's live requests.
// Checks the versions (the challenger Staging, a Production champion to compare with), refuses
// while another release's shadow runs or a code release (CodeDeploy) shifts the predict function,
// points the `shadow` alias at a version pinned to the challenger (read back), then writes the
// shadow item the predict function reads: from then on (within the live functions' cache TTL)
// every captured request of the model is copied until `until`. A retry with the same releaseId
// resumes the same shadow (same window). Before any copy is sent the challenger's version is
// warmed (it loads its model), so a challenger that cannot serve at all is refused up front and
// the first copies do not measure a cold start.
import * as z from 'zod';
import { ConflictError, InvalidRequest, ModelNotFound } from '../lib/errors.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import type { InvokeOutcome } from '../lib/releases/alias-routing.ts';
import { assertNoCodeDeployment, type CodeDeployPorts } from '../lib/releases/code-deploy-guard.ts';
import { ReleaseInProgress, ReleaseRefused, WarmUpFailed } from '../lib/releases/release-errors.ts';
import {
  DEFAULT_SHADOW_WINDOW_SECONDS,
  MAX_SETTLE_SECONDS,
  MAX_SHADOW_SECONDS,
  resolveShadowSettings,
} from '../lib/releases/release-plan.ts';
import type { PointShadowInput, ShadowAliasState } from '../lib/releases/shadow-alias.ts';
import {
  describeShadow,
  isShadowActive,
  type ShadowConfig,
  type ShadowConfigStore,
} from '../lib/releases/shadow-config.ts';
import { warmUp } from '../lib/releases/warm-up.ts';
import { ModelName } from '../lib/schemas/model-name.ts';

export { MAX_SHADOW_SECONDS };

/** Release ids: the release state machine's execution names. */
const ReleaseId = z.string().regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'releaseId: 1-80 of [A-Za-z0-9_.:-]');

/** The shadow spelled out (a direct invocation). */
export const StartShadowInput = z
  .object({
    model: ModelName,
    challengerVersion: z.number().int().positive(),
    /** The release's id (its execution name): a retry with the same id resumes this shadow. */
    releaseId: ReleaseId,
    /** How long live requests are copied. */
    durationSeconds: z.number().int().min(1).max(MAX_SHADOW_SECONDS),
    /**
     * How long after the window the report should wait for the last capture records to land
     * (the capture stream's buffering). @default the function's CAPTURE_SETTLE_SECONDS
     */
    settleSeconds: z.number().int().min(0).max(MAX_SETTLE_SECONDS).optional(),
  })
  .strict();
export type StartShadowInput = z.input<typeof StartShadowInput>;

/**
 * A release request with strategy `shadow`, as statemachines/release.asl.json hands it on:
 * `mlops release <model> <version> --strategy shadow [--bake 30m] [--settle 2m]`; the bake is the
 * window (default: the function's SHADOW_WINDOW_SECONDS).
 */
export const ShadowReleaseRequest = z
  .object({
    request: z.looseObject({
      model: ModelName,
      version: z.number().int().positive(),
      strategy: z.literal('shadow'),
      bake: z.union([z.string(), z.number()]).optional(),
      settle: z.union([z.string(), z.number()]).optional(),
      plan: z.union([z.string(), z.array(z.number())]).optional(),
      checkInterval: z.union([z.string(), z.number()]).optional(),
      requestedBy: z.string().max(200).optional(),
    }),
    releaseId: ReleaseId,
  })
  .strict();

/** What a shadow starts with when the input does not say. */
export interface ShadowDefaults {
  /** The function's CAPTURE_SETTLE_SECONDS. */
  readonly settleSeconds: number;
  /**
   * The function's SHADOW_WINDOW_SECONDS: a release request's window without a bake.
   * @default DEFAULT_SHADOW_WINDOW_SECONDS
   */
  readonly windowSeconds?: number;
}

/** Either input form, as the shadow it asks for. */
function parseStart(event: unknown, defaults: ShadowDefaults): z.output<typeof StartShadowInput> {
  const fromRelease =
    event !== null && typeof event === 'object' && 'request' in event
      ? ShadowReleaseRequest.safeParse(event)
      : undefined;
  if (fromRelease && !fromRelease.success)
    throw new InvalidRequest(`invalid shadow release request: ${z.prettifyError(fromRelease.error)}`);
  if (fromRelease?.success) {
    const { request, releaseId } = fromRelease.data;
    const settings = resolveShadowSettings(request, {
      windowSeconds: defaults.windowSeconds ?? DEFAULT_SHADOW_WINDOW_SECONDS,
    });
    return {
      model: request.model,
      challengerVersion: request.version,
      releaseId,
      durationSeconds: settings.windowSeconds,
      ...(settings.settleSeconds === undefined ? {} : { settleSeconds: settings.settleSeconds }),
    };
  }
  const parsed = StartShadowInput.safeParse(event);
  if (!parsed.success) throw new InvalidRequest(`invalid shadow start: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export interface StartShadowPorts {
  readonly registry: Pick<ModelRegistry, 'getVersion' | 'getProductionVersion'>;
  readonly shadows: ShadowConfigStore;
  /** Point the `shadow` alias at a version pinned to the challenger, read back (pointShadowAtChallenger). */
  readonly pointAlias: (input: PointShadowInput) => Promise<ShadowAliasState>;
  /** Invoke one version of the predict function synchronously (warm-up). */
  readonly invokeVersion: (version: string, event: unknown) => Promise<InvokeOutcome>;
  /** CodeDeploy's deployments of the `live` alias (code releases); absent when they are off. */
  readonly codeDeploy?: CodeDeployPorts;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

/** `$.shadow` in the release state machine: what StartShadow set up, and when to report. */
export interface ShadowStarted {
  readonly model: string;
  readonly challengerVersion: number;
  readonly championVersion: number;
  /** The predict function version the `shadow` alias runs. */
  readonly functionVersion: string;
  /** The `live` alias's version whose configuration it copies. */
  readonly liveVersion: string;
  readonly releaseId: string;
  readonly startedAt: string;
  /** Copies stop by themselves at this instant. */
  readonly until: string;
  /** When FinishShadow can report on the whole window (until + settle): a Wait state's TimestampPath. */
  readonly reportAfter: string;
  /** Seconds from now to `reportAfter` (a Wait state's SecondsPath). */
  readonly waitSeconds: number;
  /** True when this call found its own shadow already running (a retry). */
  readonly resumed: boolean;
}

export async function startShadow(
  event: unknown,
  ports: StartShadowPorts,
  defaults: ShadowDefaults,
): Promise<ShadowStarted> {
  const input = parseStart(event, defaults);
  const { model, challengerVersion, releaseId } = input;
  const challenger = await ports.registry.getVersion(model, challengerVersion);
  if (!challenger) throw new ModelNotFound(`model ${model} has no version ${challengerVersion}`);
  if (challenger.stage !== 'Staging')
    throw new ReleaseRefused(
      `${model} v${challengerVersion} is ${challenger.stage}; only a Staging version can be released (shadowed)`,
    );
  const champion = await ports.registry.getProductionVersion(model);
  if (!champion)
    throw new ReleaseRefused(`${model} has no Production version: a shadow needs a champion to compare with`);

  const now = ports.now();
  const existing = await ports.shadows.get({ consistent: true });
  const running = isShadowActive(existing, now.getTime()) ? existing : undefined;
  if (running && running.releaseId !== releaseId)
    throw new ReleaseInProgress(`a shadow is already running: ${describeShadow(running)}`);
  const resuming =
    running?.model === model && running.challengerVersion === challengerVersion ? running : undefined;
  if (running && !resuming)
    throw new ReleaseRefused(
      `release ${releaseId} already runs a shadow of ${running.model} v${running.challengerVersion}, not ${model} v${challengerVersion}`,
    );

  // A code release publishes the function anew: the challenger would not run the champion's
  // code, and the `shadow` alias is CloudFormation's too.
  if (ports.codeDeploy) await assertNoCodeDeployment(ports.codeDeploy);
  // The alias first: copies must never reach a version that does not serve the challenger.
  const alias = await ports.pointAlias({ model, challengerVersion, releaseId });
  await warmChallenger(ports, model, challengerVersion, alias.functionVersion, releaseId);
  let config: ShadowConfig;
  if (resuming && resuming.functionVersion === alias.functionVersion) config = resuming;
  else {
    const startedAt = resuming ? new Date(resuming.startedAt) : now;
    const until = resuming
      ? new Date(resuming.until)
      : new Date(now.getTime() + input.durationSeconds * 1000);
    try {
      config = await ports.shadows.start(
        {
          model,
          challengerVersion,
          championVersion: champion.version,
          functionVersion: alias.functionVersion,
          releaseId,
          startedAt: startedAt.toISOString(),
          until: until.toISOString(),
        },
        now,
      );
    } catch (err) {
      // Another shadow won the item between the read above and this write.
      if (err instanceof ConflictError) throw new ReleaseInProgress(err.message, err.details);
      throw err;
    }
  }
  const settleSeconds = input.settleSeconds ?? defaults.settleSeconds;
  const reportAfter = new Date(Date.parse(config.until) + settleSeconds * 1000);
  ports.log('shadow started', {
    model,
    challengerVersion,
    championVersion: config.championVersion,
    functionVersion: config.functionVersion,
    releaseId,
    until: config.until,
    resumed: resuming !== undefined,
  });
  return {
    model,
    challengerVersion,
    championVersion: config.championVersion ?? champion.version,
    functionVersion: config.functionVersion,
    liveVersion: alias.liveVersion,
    releaseId,
    startedAt: config.startedAt,
    until: config.until,
    reportAfter: reportAfter.toISOString(),
    waitSeconds: Math.max(0, Math.ceil((reportAfter.getTime() - now.getTime()) / 1000)),
    resumed: resuming !== undefined,
  };
}

/** Environments warmed before copies flow. */
export const SHADOW_WARM_INVOCATIONS = 2;

/**
 * Warm the challenger's version with requests that load its model and are then refused; 404 or
 * 5xx mean it cannot serve the model at all, and an answer naming another model version means
 * its pin is not what runs.
 */
async function warmChallenger(
  ports: Pick<StartShadowPorts, 'invokeVersion'>,
  model: string,
  challengerVersion: number,
  functionVersion: string,
  releaseId: string,
): Promise<void> {
  const served = await warmUp(ports.invokeVersion, {
    version: functionVersion,
    model,
    invocations: SHADOW_WARM_INVOCATIONS,
    requestIdPrefix: `${releaseId}-shadow`,
    subject: `shadow version ${functionVersion}`,
    serving: `${model} v${challengerVersion}`,
  });
  const other = served.find((v) => v !== undefined && v !== challengerVersion);
  if (other !== undefined)
    throw new WarmUpFailed(
      `shadow version ${functionVersion} serves ${model} v${other}, not ${model} v${challengerVersion}`,
    );
}
