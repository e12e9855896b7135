// Release step CheckHealth, run every checkIntervalSeconds during a bake: read back the alias (it
// must still route the step's intent) and the registry pointer, then judge the alarms and the
// challenger against the champion since the release started. Records the check, renews the lock,
// and tells the state machine what next: breach (roll back now), keep baking (and how long to
// wait), or the bake is done. A retried check writes the same check item.

import type { ModelRegistry } from '../lib/registry/model-version.ts';
import type { AliasControl } from '../lib/releases/alias-routing.ts';
import { describeRouting, routingAt, sameRouting } from '../lib/releases/alias-routing.ts';
import { type HealthProbe, judgeHealth } from '../lib/releases/health.ts';
import { ReleaseStateMismatch } from '../lib/releases/release-errors.ts';
import { abortedBy, checkRegistry, holdLock } from '../lib/releases/release-guards.ts';
import type { HealthCheckRecord, ReleaseStore } from '../lib/releases/release-record.ts';
import { keyOf, type Progress, parseStepInput, StepInput } from '../lib/releases/release-state.ts';

export interface CheckPorts {
  readonly alias: Pick<AliasControl, 'getAlias'>;
  readonly registry: Pick<ModelRegistry, 'getModel'>;
  readonly health: HealthProbe;
  readonly store: Pick<ReleaseStore, 'getRelease' | 'updateRelease' | 'renewLock' | 'putCheck'>;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

export async function checkReleaseHealth(event: unknown, ports: CheckPorts): Promise<Progress> {
  const { release, published, progress } = parseStepInput(StepInput, event, 'CheckHealth');
  if (progress.stepIndex < 0 || !progress.bakeUntil)
    throw new ReleaseStateMismatch(
      'CheckHealth before the first step: the state machine skipped ShiftTraffic',
    );
  const key = keyOf(release);
  const record = await ports.store.getRelease(key);
  const abort = abortedBy(record, progress);
  if (abort) return abort;

  const intent = routingAt(release.previousFunctionVersion, published.functionVersion, progress.percent);
  const live = await ports.alias.getAlias();
  if (!sameRouting(live, intent))
    throw new ReleaseStateMismatch(
      `during step ${progress.stepIndex + 1} ${release.functionName}:${release.alias} routes ` +
        `${describeRouting(live)}, intended ${describeRouting(intent)}: something else changed it`,
    );
  await checkRegistry(ports, release);
  await holdLock(ports, release);

  const now = ports.now();
  const [alarms, comparison] = await Promise.all([
    ports.health.alarms(release.alarmNames),
    ports.health.versionStats({
      functionName: release.functionName,
      alias: release.alias,
      model: release.model,
      champion: release.previousFunctionVersion,
      challenger: published.functionVersion,
      start: new Date(release.startedAt),
      end: now,
    }),
  ]);
  const remainingMs = Date.parse(progress.bakeUntil) - now.getTime();
  const verdict = judgeHealth({
    alarms,
    comparison,
    thresholds: release.thresholds,
    beforePromotion: progress.isLastStep && remainingMs <= 0,
  });
  const check: HealthCheckRecord = {
    step: progress.stepIndex,
    check: progress.checks + 1,
    at: now.toISOString(),
    percent: progress.percent,
    healthy: verdict.healthy,
    breaches: verdict.breaches,
    notes: verdict.notes,
    alarms,
    champion: comparison.champion,
    challenger: comparison.challenger,
  };
  await ports.store.putCheck(key, check);
  await ports.store.updateRelease(key, {
    checks: (record?.checks ?? 0) + 1,
    lastCheck: check,
    updatedAt: check.at,
  });

  const bakeComplete = verdict.healthy && remainingMs <= 0;
  ports.log(verdict.healthy ? 'healthy' : 'breach', {
    releaseId: release.releaseId,
    step: progress.stepIndex + 1,
    check: check.check,
    breaches: verdict.breaches,
    notes: verdict.notes,
    bakeComplete,
  });
  return {
    ...progress,
    checks: check.check,
    verdict: verdict.healthy ? 'healthy' : 'breach',
    bakeComplete,
    waitSeconds: bakeComplete
      ? 0
      : Math.max(1, Math.min(release.checkIntervalSeconds, Math.ceil(remainingMs / 1000))),
    reasons: [...verdict.breaches],
  };
}
