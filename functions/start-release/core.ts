// Release step StartRelease: decide whether a model version may be released and fix how. Refused
// (with a reason a person can act on) when the version is not Staging, when another release holds
// the alias, when a code release (CodeDeploy) is shifting it or it is not at rest on one version
// (AliasNotAtRest), or when a watched alarm fires or does not exist. Otherwise it takes the alias
// lock, records the release and hands `$.release` on; the version live now is the one the release
// hands the alias back to when it ends.
import * as z from 'zod';
import { InvalidRequest, ModelNotFound } from '../lib/errors.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import type { AliasControl } from '../lib/releases/alias-routing.ts';
import { describeRouting } from '../lib/releases/alias-routing.ts';
import {
  assertModelReleaseMayStart,
  type CodeDeployPorts,
  NO_CODE_RELEASES,
} from '../lib/releases/code-deploy-guard.ts';
import type { HealthProbe } from '../lib/releases/health.ts';
import { ReleaseRefused } from '../lib/releases/release-errors.ts';
import { type ReleasePolicy, resolveSettings } from '../lib/releases/release-plan.ts';
import { LOCK_TTL_MS, lockTarget, type ReleaseStore } from '../lib/releases/release-record.ts';
import type { ReleaseContext } from '../lib/releases/release-state.ts';
import { ModelName } from '../lib/schemas/model-name.ts';

export const StartInput = z.object({
  request: z.looseObject({
    model: ModelName,
    version: z.number().int().positive(),
    strategy: z.string().optional(),
    plan: z.union([z.string(), z.array(z.number())]).optional(),
    bake: z.union([z.string(), z.number()]).optional(),
    checkInterval: z.union([z.string(), z.number()]).optional(),
    settle: z.union([z.string(), z.number()]).optional(),
    slice: z.union([z.string(), z.number()]).optional(),
    window: z.union([z.string(), z.number()]).optional(),
    metric: z.string().optional(),
    requestedBy: z.string().max(200).optional(),
  }),
  executionName: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
  executionArn: z.string().min(1),
  /** `$$.Execution.StartTime`: the same on every attempt, so a retried start writes the same record. */
  startedAt: z.string().min(1),
});

export interface StartPorts {
  readonly registry: Pick<ModelRegistry, 'getVersion' | 'getModel'>;
  readonly alias: Pick<AliasControl, 'getAlias' | 'functionName' | 'aliasName'>;
  readonly health: Pick<HealthProbe, 'alarms'>;
  readonly store: Pick<ReleaseStore, 'acquireLock' | 'releaseLock' | 'createRelease'>;
  readonly policy: ReleasePolicy;
  /** Alarms of the served path the release watches (`RELEASE_ALARM_NAMES`). */
  readonly alarmNames: readonly string[];
  /** CodeDeploy's deployments of the alias (code releases); absent when they are off. */
  readonly codeDeploy?: CodeDeployPorts;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

export async function startRelease(event: unknown, ports: StartPorts): Promise<ReleaseContext> {
  const parsed = StartInput.safeParse(event);
  if (!parsed.success) throw new InvalidRequest(`invalid release request: ${z.prettifyError(parsed.error)}`);
  const { request, executionName, executionArn } = parsed.data;
  const { model, version } = request;
  const settings = resolveSettings(model, request, ports.policy);

  const candidate = await ports.registry.getVersion(model, version);
  if (!candidate) throw new ModelNotFound(`${model} has no version ${version} in the registry`);
  if (candidate.stage !== 'Staging')
    throw new ReleaseRefused(
      `${model} v${version} is ${candidate.stage}, not Staging: only a Staging version can be released` +
        (candidate.stage === 'Production' ? ' (it is already the Production version)' : ''),
      { model, version, stage: candidate.stage },
    );
  const head = await ports.registry.getModel(model);
  if (settings.decision && head?.productionVersion === undefined)
    throw new ReleaseRefused(
      `${model} has no Production version: a champion/challenger release needs a champion to compare ` +
        `v${version} with; release it with another strategy`,
      { model, version },
    );

  const now = ports.now();
  const startedAt = new Date(parsed.data.startedAt).toISOString();
  const target = lockTarget(ports.alias.functionName, ports.alias.aliasName);
  await ports.store.acquireLock(
    {
      target,
      releaseId: executionName,
      executionArn,
      model,
      modelVersion: version,
      startedAt,
      expiresAt: new Date(now.getTime() + LOCK_TTL_MS).toISOString(),
    },
    now,
  );
  try {
    // Under the lock: nothing else of ours shifts the alias while it is judged. A code release
    // (`cdk deploy` through CodeDeploy) owns the alias while it runs, and a release starts only
    // from an alias at rest, on the version it will hand the alias back to.
    const live = await ports.alias.getAlias();
    await assertModelReleaseMayStart(live, ports.codeDeploy ?? NO_CODE_RELEASES);
    await checkAlarms(ports);
    const release: ReleaseContext = {
      releaseId: executionName,
      executionArn,
      model,
      modelVersion: version,
      previousModelVersion: head?.productionVersion ?? null,
      functionName: ports.alias.functionName,
      alias: ports.alias.aliasName,
      previousFunctionVersion: live.version,
      strategy: settings.strategy,
      plan: [...settings.plan],
      bakeSeconds: settings.bakeSeconds,
      checkIntervalSeconds: settings.checkIntervalSeconds,
      thresholds: settings.thresholds,
      alarmNames: [...ports.alarmNames],
      startedAt,
      requestedBy: request.requestedBy ?? 'unknown',
      ...(settings.decision ? { decision: settings.decision } : {}),
    };
    await ports.store.createRelease({
      ...release,
      status: 'publishing',
      routing: { version: live.version },
      checks: 0,
      updatedAt: now.toISOString(),
    });
    ports.log('release started', {
      releaseId: executionName,
      model,
      version,
      strategy: settings.strategy,
      plan: settings.plan,
      bakeSeconds: settings.bakeSeconds,
      live: describeRouting(live),
    });
    return release;
  } catch (err) {
    await ports.store.releaseLock(target, executionArn, ports.now());
    throw err;
  }
}

/** Every watched alarm exists and none fires: a release now would roll back at its first check. */
async function checkAlarms(ports: StartPorts): Promise<void> {
  if (ports.alarmNames.length === 0) return;
  const states = await ports.health.alarms(ports.alarmNames);
  const known = new Set(states.map((a) => a.name));
  const missing = ports.alarmNames.filter((n) => !known.has(n));
  if (missing.length > 0)
    throw new ReleaseRefused(
      `the release watches alarm${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which do${missing.length > 1 ? '' : 'es'} not exist: ` +
        'a release must not run unwatched; fix RELEASE_ALARM_NAMES (the ReleasePipeline alarms prop)',
      { missing },
    );
  const firing = states.filter((a) => a.state === 'ALARM');
  if (firing.length > 0)
    throw new ReleaseRefused(
      `alarm ${firing.map((a) => `${a.name} is in ALARM${a.reason ? ` (${a.reason})` : ''}`).join('; ')}: ` +
        'a release now would roll back at its first check; resolve it first',
      { firing: firing.map((a) => a.name) },
    );
}
