// `mlops status <model>`: what serves the model now and where its release stands — the live
// alias's versions and weights (read from Lambda, not from the record), the model version each of
// them serves (its pin, or the registry's Production version it follows), the registry, the
// watched alarms, the alias lock, the last release with its step and last check, and the model's
// shadow (running, or the last one with its verdict).
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describeRouting } from '../../functions/lib/releases/alias-routing.ts';
import { CloudWatchHealthProbe } from '../../functions/lib/releases/cloudwatch-health-probe.ts';
import type { AlarmStatus } from '../../functions/lib/releases/health.ts';
import { describePlan, formatDuration } from '../../functions/lib/releases/release-plan.ts';
import {
  lockTarget,
  type ReleaseLock,
  type ReleaseRecord,
} from '../../functions/lib/releases/release-record.ts';
import { isShadowActive, type ShadowConfig } from '../../functions/lib/releases/shadow-config.ts';
import { ModelName } from '../../functions/lib/schemas/model-name.ts';
import { table } from '../format.ts';
import { clientOptions, type Target } from '../target.ts';
import { formatCheck, releaseClients } from './release.ts';

/** One version on the alias and what it serves of the model. */
export interface ServedVersion {
  readonly functionVersion: string;
  readonly percent: number;
  /** The model version it serves: its pin, else the registry's Production version. */
  readonly modelVersion: number | null;
  readonly pinned: boolean;
}

export interface ReleaseStatus {
  readonly model: string;
  readonly alias: string;
  readonly routing: string;
  readonly versions: readonly ServedVersion[];
  readonly productionVersion: number | null;
  readonly latestVersion: number | null;
  readonly alarms: readonly AlarmStatus[];
  readonly lock: ReleaseLock | null;
  readonly release: ReleaseRecord | null;
  /** The model's shadow on the `shadow` alias: running (`active`), or the last one; null: none. */
  readonly shadow: (ShadowConfig & { readonly active: boolean }) | null;
}

export async function releaseStatusCommand(
  target: Target,
  args: { readonly model?: string; readonly json: boolean },
): Promise<number> {
  const model = ModelName.safeParse(args.model);
  if (!model.success) throw new Error('usage: mlops status <model>');
  const status = await readStatus(target, model.data);
  if (args.json) {
    console.log(JSON.stringify(status, null, 2));
    return 0;
  }
  console.log(formatStatus(status));
  return 0;
}

export async function readStatus(target: Target, model: string): Promise<ReleaseStatus> {
  const clients = releaseClients(target);
  const lambda = new LambdaClient(clientOptions(target, 'lambda'));
  const [alias, head, lock, release, shadow] = await Promise.all([
    lambda.send(new GetAliasCommand({ FunctionName: clients.functionName, Name: clients.alias })),
    clients.registry.getModel(model),
    clients.store.getLock(lockTarget(clients.functionName, clients.alias)),
    clients.store.latestRelease(model),
    clients.shadows.get(),
  ]);
  const production = head?.productionVersion ?? null;
  const weights = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
  const extra = weights.reduce((sum, [, w]) => sum + w, 0);
  const shares: Array<[string, number]> = [[alias.FunctionVersion ?? '?', 1 - extra], ...weights];
  const versions = await Promise.all(
    shares.map(async ([version, share]): Promise<ServedVersion> => {
      const config = await lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: clients.functionName, Qualifier: version }),
      );
      const pins = parsePins(config.Environment?.Variables?.MODEL_VERSION_PINS);
      const pin = pins[model];
      return {
        functionVersion: version,
        percent: Math.round(share * 100_000) / 1000,
        modelVersion: pin ?? production,
        pinned: pin !== undefined,
      };
    }),
  );
  const alarmNames = release?.alarmNames.length
    ? release.alarmNames
    : (target.outputs.ReleaseAlarmNames ?? '').split(',').filter(Boolean);
  const alarms =
    alarmNames.length > 0
      ? await new CloudWatchHealthProbe(new CloudWatchClient(clientOptions(target, 'cloudwatch'))).alarms(
          alarmNames,
        )
      : [];
  return {
    model,
    alias: `${clients.functionName}:${clients.alias}`,
    routing: describeRouting({
      version: alias.FunctionVersion ?? '?',
      ...(weights[0] ? { additional: { version: weights[0][0], weight: weights[0][1] } } : {}),
    }),
    versions,
    productionVersion: production,
    latestVersion: head?.latestVersion ?? null,
    alarms,
    lock: lock && !lock.releasedAt && Date.parse(lock.expiresAt) > Date.now() ? lock : null,
    release: release ?? null,
    shadow: shadow?.model === model ? { ...shadow, active: isShadowActive(shadow, Date.now()) } : null,
  };
}

function parsePins(text: string | undefined): Record<string, number> {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
  } catch {
    return {};
  }
}

export function formatStatus(s: ReleaseStatus): string {
  const lines = [
    `model     ${s.model}: Production ${s.productionVersion === null ? 'none' : `v${s.productionVersion}`}, latest v${s.latestVersion ?? '-'}`,
    `live      ${s.alias} → ${s.routing}`,
    table(
      ['  version', 'traffic', 'serves'],
      s.versions.map((v) => [
        `  v${v.functionVersion}`,
        `${v.percent}%`,
        v.modelVersion === null
          ? `${s.model}: none (no Production version)`
          : `${s.model} v${v.modelVersion} ${v.pinned ? '(pinned)' : '(follows Production)'}`,
      ]),
    ),
    `alarms    ${s.alarms.length === 0 ? 'none watched' : s.alarms.map((a) => `${a.name} ${a.state}`).join(', ')}`,
    `lock      ${s.lock ? `held by ${s.lock.releaseId} until ${s.lock.expiresAt}` : 'free'}`,
  ];
  const r = s.release;
  if (!r) lines.push('release   none recorded');
  else {
    lines.push(
      `release   ${r.releaseId}: ${r.status}${r.endedAt ? ` at ${r.endedAt}` : ''} (started ${r.startedAt} by ${r.requestedBy})`,
      `          ${
        r.decision
          ? `champion-challenger: a ${r.plan[0]}% slice for ${formatDuration(r.decision.windowSeconds)}, then 100% (${formatDuration(r.bakeSeconds)} bake)`
          : `${r.strategy} ${describePlan(r.plan)}, ${formatDuration(r.bakeSeconds)} bakes`
      }; v${r.previousFunctionVersion} → ${r.newFunctionVersion ? `v${r.newFunctionVersion}` : '(not published)'}`,
    );
    if (r.step)
      lines.push(
        `          step ${r.step.index + 1}/${r.plan.length} (${r.step.percent}%) since ${r.step.startedAt}, bake until ${r.step.bakeUntil}; ${r.checks} checks`,
      );
    if (r.decision)
      lines.push(
        `          decided on live ${r.decision.metric} after a ${formatDuration(r.decision.windowSeconds)} window: ` +
          (r.decided ? `${r.decided.decision}, report ${r.decided.report}` : 'not yet'),
      );
    if (r.lastCheck) lines.push(formatCheck(r.lastCheck));
    if (r.reason) lines.push(`          ${r.reason}`);
  }
  const sh = s.shadow;
  if (sh) {
    const who = `v${sh.challengerVersion} on function v${sh.functionVersion}${sh.championVersion === undefined ? '' : ` against v${sh.championVersion}`} (release ${sh.releaseId})`;
    lines.push(
      sh.active
        ? `shadow    running: ${who}, copying live requests until ${sh.until}`
        : `shadow    last: ${who}, ended ${sh.finishedAt ?? sh.until}: ${sh.report ? `${sh.report.verdict}, report ${sh.report.uri}` : (sh.finishReason ?? 'no report')}`,
    );
  }
  return lines.join('\n');
}
