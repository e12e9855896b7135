// Release step RollbackRelease, in two modes.
// automatic: every failure path of statemachines/release.asl.json ends here — a breach during a
//   bake, a read-back that differed from the intent, a step that failed, a rollback a person asked
//   for. The alias goes back to 100% on the version that was live before (read back), the
//   registry's Production pointer is restored if the release had already moved it, the record
//   says why, and the lock is let go on every path (even when the flip itself fails). A release
//   stopped by a code release (CodeDeploymentInProgress, or a CodeDeploy deployment under way now)
//   is only recorded as `interrupted`: CodeDeploy owns the alias, so neither the alias nor the
//   registry is written.
// operator (`mlops rollback <model>`): the model's last release is rolled back. A running (or
//   interrupted) one is flagged first (its next step rolls back instead of going on) and its alias
//   flipped at once; a finished one is rolled back under the alias lock, only while the alias
//   still routes what it left: its registry pointer goes back to the previous model version (the
//   version it handed the alias back to follows it, so the alias stays where it is) — or, when it
//   could not hand the alias back, the alias flips back to that version too.
import * as z from 'zod';
import { InvalidRequest, reasonFromCause } from '../lib/errors.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import { flipTo } from '../lib/releases/alias-flip.ts';
import {
  type AliasControl,
  describeRouting,
  type Routing,
  routingOf,
  sameRouting,
} from '../lib/releases/alias-routing.ts';
import { CodeDeploymentInProgress, type CodeDeployPorts } from '../lib/releases/code-deploy-guard.ts';
import { NothingToRollBack, ReleaseRefused, ReleaseStateMismatch } from '../lib/releases/release-errors.ts';
import { describeOutcome, type ReleaseOutcome } from '../lib/releases/release-outcome.ts';
import {
  LOCK_TTL_MS,
  lockTarget,
  type ReleaseRecord,
  type ReleaseStore,
  RUNNING_STATUSES,
} from '../lib/releases/release-record.ts';
import { DecisionResult, keyOf, Progress, Published, ReleaseContext } from '../lib/releases/release-state.ts';
import { ModelName } from '../lib/schemas/model-name.ts';

/** What a Catch puts at its ResultPath. */
const CaughtError = z.object({ Error: z.string(), Cause: z.string().optional() });

export const AutomaticRollbackInput = z.object({
  mode: z.literal('automatic'),
  state: z.looseObject({
    release: ReleaseContext,
    published: Published.optional(),
    progress: Progress.optional(),
    failure: CaughtError.optional(),
    /** A champion/challenger's decision: `keep` ends here, the slice back on the champion. */
    decision: DecisionResult.optional(),
  }),
});

export const OperatorRollbackInput = z.object({
  mode: z.literal('operator'),
  request: z.looseObject({
    model: ModelName,
    reason: z.string().max(1000).optional(),
    requestedBy: z.string().max(200).optional(),
  }),
  executionName: z.string().min(1),
  executionArn: z.string().min(1),
});

export const RollbackInput = z.discriminatedUnion('mode', [AutomaticRollbackInput, OperatorRollbackInput]);

export interface RollbackPorts {
  readonly alias: Pick<AliasControl, 'getAlias' | 'updateAlias' | 'functionName' | 'aliasName'>;
  readonly registry: Pick<ModelRegistry, 'getModel' | 'getProductionVersion' | 'promoteToProduction'>;
  readonly store: Pick<
    ReleaseStore,
    'getRelease' | 'latestRelease' | 'updateRelease' | 'acquireLock' | 'releaseLock'
  >;
  /** CodeDeploy's deployments of the alias (code releases); absent when they are off. */
  readonly codeDeploy?: CodeDeployPorts;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}
/** The record and the notification keep reasons this long at most. */
const MAX_REASON_CHARS = 2_000;

export async function rollbackRelease(event: unknown, ports: RollbackPorts): Promise<ReleaseOutcome> {
  const parsed = RollbackInput.safeParse(event);
  if (!parsed.success) throw new InvalidRequest(`invalid rollback input: ${z.prettifyError(parsed.error)}`);
  return parsed.data.mode === 'automatic'
    ? automaticRollback(parsed.data, ports)
    : operatorRollback(parsed.data, ports);
}

async function automaticRollback(
  input: z.infer<typeof AutomaticRollbackInput>,
  ports: RollbackPorts,
): Promise<ReleaseOutcome> {
  const { release, published, progress, failure, decision } = input.state;
  const key = keyOf(release);
  const record = await ports.store.getRelease(key);
  const abort = record?.abortRequested;
  const breach = progress && (progress.verdict === 'breach' || progress.verdict === 'aborted');
  // The challenger lost the comparison: nothing failed, the champion keeps its traffic.
  const lost = !abort && !breach && !failure && decision?.decision === 'keep';
  const reason = cap(
    abort
      ? `rolled back by ${abort.by}: ${abort.reason}`
      : breach
        ? `step ${progress.stepIndex + 1} (${progress.percent}%) ${progress.verdict === 'breach' ? 'breached' : 'was stopped'}: ${progress.reasons.join('; ')}`
        : failure
          ? `${failure.Error}: ${reasonFromCause(failure.Cause)}`
          : lost
            ? `${decision.summary} (report: ${decision.report})`
            : 'the release stopped without a recorded cause',
  );
  const error = lost
    ? 'ChallengerNotPromoted'
    : abort || breach
      ? 'ReleaseRolledBack'
      : (failure?.Error ?? 'ReleaseFailed');
  const target: Routing = { version: release.previousFunctionVersion };
  const lock = lockTarget(release.functionName, release.alias);
  try {
    // Stopped by a code release (the step's CodeDeploymentInProgress), or one runs now.
    if (failure?.Error === 'CodeDeploymentInProgress')
      return await interrupted(ports, input.state, record, reasonFromCause(failure.Cause));
    const deployments = await activeDeployments(ports);
    if (deployments !== undefined) return await interrupted(ports, input.state, record, deployments, reason);
    const before = await ports.alias.getAlias();
    const trafficMoved = !sameRouting(before, target) || (progress?.stepIndex ?? -1) >= 0;
    await flipTo(ports, target, 'rollback');
    await restoreRegistry(ports, release, `rollback of release ${release.releaseId}: ${reason}`);
    const at = ports.now().toISOString();
    const kind = lost
      ? 'not-promoted'
      : trafficMoved || record?.status === 'rolled-back'
        ? 'rolled-back'
        : 'failed';
    await ports.store.updateRelease(key, {
      status: kind,
      routing: target,
      // The operator's words stay when `mlops rollback` already closed the record.
      reason: record?.status === 'rolled-back' && record.reason ? record.reason : reason,
      rolledBackBy: abort?.by ?? 'automatic',
      endedAt: record?.endedAt ?? at,
      updatedAt: at,
    });
    ports.log('rolled back', { releaseId: release.releaseId, reason, error });
    return describeOutcome({
      outcome: kind,
      error,
      releaseId: release.releaseId,
      model: release.model,
      modelVersion: release.modelVersion,
      previousModelVersion: release.previousModelVersion,
      strategy: release.strategy,
      plan: release.plan,
      ...(published ? { newFunctionVersion: published.functionVersion } : {}),
      previousFunctionVersion: release.previousFunctionVersion,
      routing: target,
      reason,
      ...(abort ? { by: abort.by } : {}),
      at,
    });
  } catch (err) {
    // A code release began between the check and the flip: it owns the alias now.
    if (err instanceof CodeDeploymentInProgress)
      return await interrupted(ports, input.state, record, err.message, reason);
    await ports.store
      .updateRelease(key, {
        status: 'rollback-failed',
        reason: cap(`${reason}; the rollback itself failed: ${(err as Error).message}`),
        updatedAt: ports.now().toISOString(),
      })
      .catch(() => undefined);
    throw err;
  } finally {
    // Let go on every path: a new release refuses an alias that routes to two versions anyway.
    await ports.store.releaseLock(lock, release.executionArn, ports.now());
  }
}

/** The ids of the CodeDeploy deployments under way, as a sentence; undefined when none is. */
async function activeDeployments(ports: Pick<RollbackPorts, 'codeDeploy'>): Promise<string | undefined> {
  const active = (await ports.codeDeploy?.listActiveDeployments()) ?? [];
  return active.length > 0 ? new CodeDeploymentInProgress(active).message : undefined;
}

/**
 * A code release owns the alias: record the release as interrupted, with what is live now, and
 * write neither the alias nor the registry. `mlops rollback` settles it once the code release ends.
 */
async function interrupted(
  ports: RollbackPorts,
  state: z.infer<typeof AutomaticRollbackInput>['state'],
  record: ReleaseRecord | undefined,
  deployment: string,
  /** What the rollback was for, when something other than the code release stopped the release. */
  cause?: string,
): Promise<ReleaseOutcome> {
  const { release, published } = state;
  const live = routingOf(await ports.alias.getAlias());
  const at = ports.now().toISOString();
  const why = cap(cause ? `${deployment}; not rolled back (${cause})` : deployment);
  await ports.store.updateRelease(keyOf(release), {
    status: 'interrupted',
    routing: live,
    reason: why,
    rolledBackBy: 'none: interrupted by a code release',
    endedAt: record?.endedAt ?? at,
    updatedAt: at,
  });
  ports.log('interrupted by a code release', { releaseId: release.releaseId, reason: why });
  return describeOutcome({
    outcome: 'interrupted',
    error: 'CodeDeploymentInProgress',
    releaseId: release.releaseId,
    model: release.model,
    modelVersion: release.modelVersion,
    previousModelVersion: release.previousModelVersion,
    strategy: release.strategy,
    plan: release.plan,
    ...(published ? { newFunctionVersion: published.functionVersion } : {}),
    previousFunctionVersion: release.previousFunctionVersion,
    routing: live,
    reason: why,
    at,
  });
}

async function operatorRollback(
  input: z.infer<typeof OperatorRollbackInput>,
  ports: RollbackPorts,
): Promise<ReleaseOutcome> {
  const { model } = input.request;
  const by = input.request.requestedBy ?? 'an operator';
  const why = cap(input.request.reason ?? 'asked for by `mlops rollback`');
  const latest = await ports.store.latestRelease(model);
  if (!latest) throw new NothingToRollBack(`no release of ${model} is recorded: nothing to roll back`);
  if (latest.functionName !== ports.alias.functionName || latest.alias !== ports.alias.aliasName)
    throw new ReleaseRefused(
      `the last release of ${model} shifted ${latest.functionName}:${latest.alias}, not ${ports.alias.functionName}:${ports.alias.aliasName}`,
    );
  const target: Routing = { version: latest.previousFunctionVersion };
  const key = { model, startedAt: latest.startedAt, releaseId: latest.releaseId };
  const now = () => ports.now().toISOString();

  if (
    RUNNING_STATUSES.has(latest.status) ||
    latest.status === 'rollback-failed' ||
    latest.status === 'interrupted'
  ) {
    if (latest.status === 'interrupted') await assertNotMovedOn(ports, latest);
    // Flag first, so the running execution's next step rolls back instead of shifting further.
    await ports.store.updateRelease(key, {
      abortRequested: { by, reason: why, at: now() },
      updatedAt: now(),
    });
    await flipTo(ports, target, 'rollback');
    await restoreRegistry(ports, latest, `rollback of release ${latest.releaseId} by ${by}: ${why}`);
    await ports.store.updateRelease(key, {
      status: 'rolled-back',
      routing: target,
      reason: `rolled back by ${by}: ${why}`,
      rolledBackBy: by,
      endedAt: now(),
      updatedAt: now(),
    });
  } else if (latest.status === 'succeeded') {
    await rollBackFinished(input, ports, latest, target, by, why);
  } else {
    const live = await ports.alias.getAlias();
    throw new NothingToRollBack(
      `the last release of ${model} (${latest.releaseId}) already ended ${latest.status}` +
        `${latest.endedAt ? ` at ${latest.endedAt}` : ''}; live routes ${describeRouting(live)}`,
    );
  }
  ports.log('rolled back by operator', { releaseId: latest.releaseId, by, reason: why });
  return describeOutcome({
    outcome: 'rolled-back',
    error: 'ReleaseRolledBack',
    releaseId: latest.releaseId,
    model,
    modelVersion: latest.modelVersion,
    previousModelVersion: latest.previousModelVersion,
    strategy: latest.strategy,
    plan: latest.plan,
    ...(latest.newFunctionVersion ? { newFunctionVersion: latest.newFunctionVersion } : {}),
    previousFunctionVersion: latest.previousFunctionVersion,
    routing: target,
    reason: why,
    by,
    at: now(),
  });
}

/**
 * An interrupted release left the alias on its own versions (the one it started from, the one it
 * published); anything else is a code release's doing, which a flip back would undo.
 */
async function assertNotMovedOn(ports: Pick<RollbackPorts, 'alias'>, latest: ReleaseRecord): Promise<void> {
  const live = await ports.alias.getAlias();
  const own = new Set([latest.previousFunctionVersion, latest.newFunctionVersion].filter(Boolean));
  if ([live.version, live.additional?.version].every((v) => v === undefined || own.has(v))) return;
  throw new ReleaseRefused(
    `${lockTarget(latest.functionName, latest.alias)} routes ${describeRouting(live)}: the code release that ` +
      `interrupted release ${latest.releaseId} has moved it on, so flipping back would undo that code; ` +
      'release the model version you want instead',
  );
}

/**
 * A release that ended `succeeded`, rolled back under the lock only if nothing moved since: the
 * alias must still route what the release left it at (its record's routing: the version it
 * started from, handed back at rest, or its pinned version when the hand back did not happen).
 */
async function rollBackFinished(
  input: z.infer<typeof OperatorRollbackInput>,
  ports: RollbackPorts,
  latest: ReleaseRecord,
  target: Routing,
  by: string,
  why: string,
): Promise<void> {
  const lock = lockTarget(latest.functionName, latest.alias);
  const started = ports.now();
  await ports.store.acquireLock(
    {
      target: lock,
      releaseId: input.executionName,
      executionArn: input.executionArn,
      model: latest.model,
      modelVersion: latest.modelVersion,
      startedAt: started.toISOString(),
      expiresAt: new Date(started.getTime() + LOCK_TTL_MS).toISOString(),
    },
    started,
  );
  try {
    const live = await ports.alias.getAlias();
    const left = routingOf(latest.routing);
    if (!sameRouting(live, left))
      throw new ReleaseRefused(
        `${lock} routes ${describeRouting(live)}, not ${describeRouting(left)} as release ${latest.releaseId} ` +
          `left it: it has moved on (another release or a code deploy), so rolling back would undo more than ` +
          `${latest.model} v${latest.modelVersion}; release the version you want instead`,
      );
    const production = (await ports.registry.getModel(latest.model))?.productionVersion ?? null;
    if (production !== latest.modelVersion)
      throw new ReleaseRefused(
        `${latest.model}'s Production version is ${production === null ? 'none' : `v${production}`}, not ` +
          `v${latest.modelVersion} as release ${latest.releaseId} left it: the registry has moved on`,
      );
    if (latest.previousModelVersion === null)
      throw new ReleaseRefused(
        `${latest.model} v${latest.modelVersion} was its first Production version: there is no earlier ` +
          'version to roll back to; release another version instead',
      );
    await flipTo(ports, target, 'rollback');
    await restoreRegistry(ports, latest, `rollback of release ${latest.releaseId} by ${by}: ${why}`);
    const at = ports.now().toISOString();
    await ports.store.updateRelease(
      { model: latest.model, startedAt: latest.startedAt, releaseId: latest.releaseId },
      {
        status: 'rolled-back',
        routing: target,
        reason: `rolled back by ${by}: ${why}`,
        rolledBackBy: by,
        endedAt: at,
        updatedAt: at,
      },
    );
  } finally {
    await ports.store.releaseLock(lock, input.executionArn, ports.now());
  }
}

/**
 * When the release had made its model version Production (it failed after the promotion, or it
 * finished), the previous version goes back, by compare-and-set, and is read back. An unpinned
 * function version follows the registry: without this, flipping the alias back would not bring
 * back the old model.
 */
async function restoreRegistry(
  ports: Pick<RollbackPorts, 'registry'>,
  release: Pick<ReleaseContext, 'model' | 'modelVersion' | 'previousModelVersion' | 'releaseId'>,
  reason: string,
): Promise<void> {
  const head = await ports.registry.getModel(release.model);
  if (head?.productionVersion !== release.modelVersion || release.previousModelVersion === null) return;
  await ports.registry.promoteToProduction(release.model, release.previousModelVersion, {
    actor: `rollback:${release.releaseId}`,
    reason: cap(reason),
    expectedRevision: head.stageRevision,
  });
  const readBack = await ports.registry.getProductionVersion(release.model);
  if (readBack?.version !== release.previousModelVersion)
    throw new ReleaseStateMismatch(
      `after the rollback ${release.model}'s Production version reads ${readBack ? `v${readBack.version}` : 'none'}, ` +
        `intended v${release.previousModelVersion}`,
    );
}

const cap = (text: string) =>
  text.length <= MAX_REASON_CHARS ? text : `${text.slice(0, MAX_REASON_CHARS - 1)}…`;
