// `mlops release <model> <version>` and `mlops rollback <model>`: start the release state machine
// (the same StartExecution against the local platform and AWS) and follow it step by step from
// its release record — the published version, each traffic shift, each health check — to how it
// ended. `--strategy shadow` runs the same machine's shadow branch and is followed from the shadow
// item to its comparison's verdict. Refusals the registry, the alias lock or a running shadow can
// tell now are reported before anything starts.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { reasonFromCause } from '../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { describeRouting, routingAt } from '../../functions/lib/releases/alias-routing.ts';
import { DynamoDbReleaseStore } from '../../functions/lib/releases/dynamodb-release-store.ts';
import { describeStats } from '../../functions/lib/releases/health.ts';
import {
  DEFAULT_SHADOW_WINDOW_SECONDS,
  describePlan,
  formatDuration,
  isShadowRequest,
  resolveSettings,
  resolveShadowSettings,
} from '../../functions/lib/releases/release-plan.ts';
import {
  type HealthCheckRecord,
  lockTarget,
  type ReleaseRecord,
  releaseExecutionName,
  rollbackExecutionName,
} from '../../functions/lib/releases/release-record.ts';
import { bakeSecondsOf } from '../../functions/lib/releases/release-state.ts';
import {
  DynamoDbShadowConfigStore,
  describeShadow,
  isShadowActive,
  type ShadowConfig,
} from '../../functions/lib/releases/shadow-config.ts';
import { ModelName } from '../../functions/lib/schemas/model-name.ts';
import { clientOptions, type Target } from '../target.ts';

export interface ReleaseArgs {
  readonly model?: string;
  readonly version?: string;
  readonly strategy?: string;
  readonly plan?: string;
  readonly bake?: string;
  readonly checkInterval?: string;
  /** A shadow or champion/challenger: how long its report or decision waits after the window for the capture. */
  readonly settle?: string;
  /** Champion/challenger: the challenger's share of traffic during the window. */
  readonly slice?: string;
  /** Champion/challenger: how long the slice runs before the decision. */
  readonly window?: string;
  /** Champion/challenger: the agreed metric. */
  readonly metric?: string;
  readonly json: boolean;
  /** Poll interval while following. @default 500 */
  readonly pollMs?: number;
  /** Where progress lines go. @default console.log */
  readonly print?: (line: string) => void;
}

export interface RollbackArgs {
  readonly model?: string;
  readonly reason?: string;
  readonly json: boolean;
  readonly pollMs?: number;
  readonly print?: (line: string) => void;
}

/** Stack outputs and clients a release command needs. */
export interface ReleaseClients {
  readonly sfn: SFNClient;
  readonly registry: DynamoDbModelRegistry;
  readonly store: DynamoDbReleaseStore;
  /** The shadow item (one shadow at a time, on the `shadow` alias). */
  readonly shadows: DynamoDbShadowConfigStore;
  readonly stateMachineArn: string;
  readonly functionName: string;
  readonly alias: string;
}

export function releaseClients(target: Target): ReleaseClients {
  const need = (key: string) => {
    const value = target.outputs[key];
    if (!value)
      throw new Error(
        `the stack has no ${key} output: deploy (or \`npm start\`) a platform with the release pipeline`,
      );
    return value;
  };
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(target, 'dynamodb')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const table = need('RegistryTableName');
  return {
    sfn: new SFNClient(clientOptions(target, 'sfn')),
    registry: new DynamoDbModelRegistry(db, table),
    store: new DynamoDbReleaseStore(db, table),
    shadows: new DynamoDbShadowConfigStore(db, table),
    stateMachineArn: need('ReleasePipelineArn'),
    functionName: need('PredictFunctionName'),
    alias: 'live',
  };
}

const actor = () => `mlops-cli (${process.env.USER ?? 'unknown user'})`;

export async function releaseCommand(target: Target, args: ReleaseArgs): Promise<number> {
  const usage =
    'usage: mlops release <model> <version> [--strategy canary|linear|all-at-once|blue-green|champion-challenger|shadow] ' +
    '[--plan 5,25,50,100] [--bake 5m] [--slice 10 --window 24h --metric auc] [--settle 2m]';
  const model = ModelName.safeParse(args.model);
  const version = Number(args.version);
  if (!model.success || !Number.isInteger(version) || version < 1) throw new Error(usage);
  if (isShadowRequest(args)) return shadowCommand(target, args, model.data, version);
  // The flags are checked here for a quick answer; the deployment's policy fills what is not given.
  resolveSettings(model.data, {
    strategy: args.strategy,
    plan: args.plan,
    bake: args.bake,
    checkInterval: args.checkInterval,
    settle: args.settle,
    slice: args.slice,
    window: args.window,
    metric: args.metric,
  });
  const clients = releaseClients(target);
  const print = args.print ?? ((line: string) => console.log(line));
  await precheck(clients, model.data, version);

  const input = {
    model: model.data,
    version,
    ...(args.strategy ? { strategy: args.strategy } : {}),
    ...(args.plan ? { plan: args.plan } : {}),
    ...(args.bake ? { bake: args.bake } : {}),
    ...(args.checkInterval ? { checkInterval: args.checkInterval } : {}),
    ...(args.settle ? { settle: args.settle } : {}),
    ...(args.slice ? { slice: args.slice } : {}),
    ...(args.window ? { window: args.window } : {}),
    ...(args.metric ? { metric: args.metric } : {}),
    requestedBy: actor(),
  };
  const name = releaseExecutionName(model.data, version, new Date());
  const executionArn = await start(clients, name, input);
  if (!args.json) print(`release ${name} started (Ctrl-C stops following, not the release)`);
  const ended = await follow(
    clients,
    executionArn,
    model.data,
    name,
    args.json ? () => undefined : print,
    args.pollMs,
  );
  const record = await clients.store.latestRelease(model.data);
  const mine = record?.releaseId === name ? record : undefined;
  if (args.json) {
    console.log(JSON.stringify({ execution: executionSummary(ended), release: mine ?? null }, null, 2));
    return ended.status === 'SUCCEEDED' ? 0 : 1;
  }
  if (ended.status === 'SUCCEEDED') {
    const outcome = ended.output ? (JSON.parse(ended.output) as { summary?: string }) : {};
    print(`✓ ${outcome.summary ?? `${model.data} v${version} released`}`);
    return 0;
  }
  print(`✗ ${ended.error ?? ended.status}: ${reasonFromCause(ended.cause)}`);
  return 1;
}

/**
 * `--strategy shadow`: the challenger answers copies of live requests for the bake; the live alias
 * and the registry are not touched. Prints the window, then the comparison's verdict and report;
 * exits 0 only when the challenger passed.
 */
async function shadowCommand(
  target: Target,
  args: ReleaseArgs,
  model: string,
  version: number,
): Promise<number> {
  // The flags are checked here for a quick answer; the deployment's default fills a missing bake.
  resolveShadowSettings(args, { windowSeconds: DEFAULT_SHADOW_WINDOW_SECONDS });
  const clients = releaseClients(target);
  const print = args.json ? () => undefined : (args.print ?? ((line: string) => console.log(line)));
  await precheckVersion(clients, model, version);
  const running = await clients.shadows.get({ consistent: true });
  if (isShadowActive(running, Date.now()))
    throw new Error(`a shadow is already running: ${describeShadow(running)}; one shadow at a time`);

  const name = releaseExecutionName(model, version, new Date());
  const executionArn = await start(clients, name, {
    model,
    version,
    strategy: 'shadow',
    ...(args.bake ? { bake: args.bake } : {}),
    ...(args.settle ? { settle: args.settle } : {}),
    requestedBy: actor(),
  });
  print(`shadow release ${name} started (Ctrl-C stops following, not the shadow)`);
  const seen = new Set<string>();
  const once = (key: string, line: () => string) => {
    if (seen.has(key)) return;
    seen.add(key);
    print(line());
  };
  const ended = await poll(clients, executionArn, args.pollMs, async () => {
    const shadow = await clients.shadows.get();
    if (shadow?.releaseId === name) reportShadow(shadow, once);
  });
  if (args.json) {
    console.log(JSON.stringify(executionSummary(ended), null, 2));
    return shadowVerdict(ended) === 'pass' ? 0 : 1;
  }
  if (ended.status !== 'SUCCEEDED') {
    print(`✗ ${ended.error ?? ended.status}: ${reasonFromCause(ended.cause)}`);
    return 1;
  }
  const outcome = JSON.parse(ended.output ?? '{}') as {
    championVersion?: number;
    report?: { verdict?: string; reasons?: readonly string[]; uri?: string; pairs?: number };
  };
  const verdict = outcome.report?.verdict ?? 'none';
  print(`  report ${outcome.report?.uri ?? '(none)'}: ${outcome.report?.pairs ?? 0} pairs`);
  for (const reason of outcome.report?.reasons ?? []) print(`    ${reason}`);
  const against = outcome.championVersion === undefined ? '' : ` against v${outcome.championVersion}`;
  print(
    `${verdict === 'pass' ? '✓' : '✗'} verdict ${verdict}: ${model} v${version} shadowed${against}; ` +
      'the live alias and the registry are unchanged',
  );
  return verdict === 'pass' ? 0 : 1;
}

/** Lines for what is new in the shadow item: the window, then its end. */
export function reportShadow(shadow: ShadowConfig, once: (key: string, line: () => string) => void): void {
  once(
    'shadow-started',
    () =>
      `  shadow: ${shadow.model} v${shadow.challengerVersion} on function v${shadow.functionVersion}` +
      `${shadow.championVersion === undefined ? '' : ` against v${shadow.championVersion}`}, copying live requests until ${shadow.until}`,
  );
  if (shadow.state === 'finished')
    once('shadow-finished', () => `  copying stopped at ${shadow.finishedAt ?? '?'}; comparing the window`);
}

const shadowVerdict = (e: DescribeExecutionCommandOutput) =>
  e.status === 'SUCCEEDED' && e.output
    ? (JSON.parse(e.output) as { report?: { verdict?: string } }).report?.verdict
    : undefined;

export async function rollbackCommand(target: Target, args: RollbackArgs): Promise<number> {
  const model = ModelName.safeParse(args.model);
  if (!model.success) throw new Error('usage: mlops rollback <model> [--reason "…"]');
  const clients = releaseClients(target);
  const print = args.print ?? ((line: string) => console.log(line));
  const name = rollbackExecutionName(model.data, new Date());
  const executionArn = await start(clients, name, {
    action: 'rollback',
    model: model.data,
    ...(args.reason ? { reason: args.reason } : {}),
    requestedBy: actor(),
  });
  const ended = await follow(clients, executionArn, model.data, undefined, () => undefined, args.pollMs);
  if (args.json) {
    console.log(JSON.stringify(executionSummary(ended), null, 2));
    return ended.status === 'SUCCEEDED' ? 0 : 1;
  }
  if (ended.status === 'SUCCEEDED') {
    const outcome = ended.output ? (JSON.parse(ended.output) as { summary?: string }) : {};
    print(`✓ ${outcome.summary ?? `${model.data} rolled back`}`);
    return 0;
  }
  print(`✗ ${ended.error ?? ended.status}: ${reasonFromCause(ended.cause)}`);
  return 1;
}

/** What the registry and the lock can refuse now, in the words the state machine would use. */
async function precheck(clients: ReleaseClients, model: string, version: number): Promise<void> {
  await precheckVersion(clients, model, version);
  const lock = await clients.store.getLock(lockTarget(clients.functionName, clients.alias));
  if (lock && !lock.releasedAt && Date.parse(lock.expiresAt) > Date.now())
    throw new Error(
      `release ${lock.releaseId} (${lock.model} v${lock.modelVersion}, started ${lock.startedAt}) is shifting ` +
        `${lock.target}; one release per alias at a time: wait for it to end, or \`mlops rollback ${lock.model}\``,
    );
}

/** Only a Staging version of a registered model can be released (or shadowed). */
async function precheckVersion(clients: ReleaseClients, model: string, version: number): Promise<void> {
  const candidate = await clients.registry.getVersion(model, version);
  if (!candidate) throw new Error(`${model} has no version ${version} in the registry`);
  if (candidate.stage !== 'Staging')
    throw new Error(
      `${model} v${version} is ${candidate.stage}, not Staging: only a Staging version can be released` +
        (candidate.stage === 'Production' ? ' (it is already the Production version)' : ''),
    );
}

async function start(clients: ReleaseClients, name: string, input: Record<string, unknown>): Promise<string> {
  try {
    const out = await clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: clients.stateMachineArn,
        name,
        input: JSON.stringify(input),
      }),
    );
    if (!out.executionArn) throw new Error('StartExecution returned no execution ARN');
    return out.executionArn;
  } catch (err) {
    if (err instanceof ExecutionAlreadyExists)
      throw new Error(`an execution named ${name} already exists: one was started this very second`);
    throw err;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll the execution to its end, printing what the release record shows as it changes. */
export async function follow(
  clients: ReleaseClients,
  executionArn: string,
  model: string,
  releaseId: string | undefined,
  print: (line: string) => void,
  pollMs = 500,
): Promise<DescribeExecutionCommandOutput> {
  const seen = new Set<string>();
  const once = (key: string, line: () => string) => {
    if (seen.has(key)) return;
    seen.add(key);
    print(line());
  };
  return poll(clients, executionArn, pollMs, async () => {
    if (!releaseId) return;
    const record = await clients.store.latestRelease(model);
    if (record?.releaseId === releaseId)
      report(record, record.checks > 0 ? await clients.store.listChecks(record) : [], once);
  });
}

/** Describe the execution every `pollMs`, running `progress` each time, until it has ended. */
async function poll(
  clients: ReleaseClients,
  executionArn: string,
  pollMs = 500,
  progress: () => Promise<void>,
): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    await progress();
    if (execution.status && execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE')
      return execution;
    await sleep(pollMs);
  }
}

/**
 * Lines for what is new in the record and its checks, in order: the plan, the published version,
 * each step as it starts with the checks made during its bake, the promotion and the hand back
 * of the alias. How it ended is the caller's.
 */
export function report(
  r: ReleaseRecord,
  checks: readonly HealthCheckRecord[],
  once: (key: string, line: () => string) => void,
): void {
  const decision = r.decision;
  once('plan', () =>
    decision
      ? `  champion-challenger: a ${r.plan[0]}% slice for ${formatDuration(decision.windowSeconds)}, decided on live ${decision.metric} ` +
        `(gain ≥ ${decision.minGain}, ${Math.round(decision.confidence * 100)}% confident, ≥ ${decision.minLabelledRows} labelled per arm) ` +
        `${formatDuration(decision.settleSeconds)} after it; then 100% baking ${formatDuration(r.bakeSeconds)}; checked every ${r.checkIntervalSeconds} s; live was v${r.previousFunctionVersion}`
      : `  ${r.strategy} ${describePlan(r.plan)}, ${formatDuration(r.bakeSeconds)} bakes checked every ${r.checkIntervalSeconds} s; live was v${r.previousFunctionVersion}`,
  );
  const challenger = r.newFunctionVersion;
  if (!challenger) return;
  once('published', () => `  published v${challenger}: ${r.model} v${r.modelVersion} pinned, warmed`);
  const last = r.step?.index ?? -1;
  for (let i = 0; i <= last; i++) {
    const percent = r.plan[i] ?? 100;
    once(
      `step-${i}`,
      () =>
        `  step ${i + 1}/${r.plan.length}: live → ${describeRouting(routingAt(r.previousFunctionVersion, challenger, percent))}, baking ${formatDuration(bakeSecondsOf(r, i))}`,
    );
    for (const c of checks.filter((c) => c.step === i)) once(`check-${i}-${c.check}`, () => formatCheck(c));
    const decided = r.decided;
    if (i === 0 && decided)
      once(
        'decided',
        () => `  decision: ${decided.decision} — ${decided.summary}\n    report ${decided.report}`,
      );
  }
  if (r.status === 'promoting' || r.status === 'succeeded')
    once(
      'promoted',
      () =>
        `  ${r.model} v${r.modelVersion} Production; live goes back to v${r.previousFunctionVersion} (unpinned, ` +
        "it follows Production) once the predict function's registry cache has expired",
    );
  if (r.status === 'succeeded' && r.routing.version === r.previousFunctionVersion && !r.routing.additional)
    once('handed-back', () => `  live handed back at rest: v${r.previousFunctionVersion} 100%`);
}

/** `    check 3 ✓ challenger v7 12 inv, 0 err … | champion v4 …`. */
export function formatCheck(c: HealthCheckRecord): string {
  const head = `    check ${c.check} ${c.healthy ? '✓' : '✗'} challenger v${c.challenger.version}: ${describeStats(c.challenger)} | champion v${c.champion.version}: ${describeStats(c.champion)}`;
  const why = c.healthy ? [] : c.breaches.map((b) => `      breach: ${b}`);
  return [head, ...why].join('\n');
}

function executionSummary(e: DescribeExecutionCommandOutput) {
  return {
    executionArn: e.executionArn,
    status: e.status,
    ...(e.output ? { output: JSON.parse(e.output) as unknown } : {}),
    ...(e.error ? { error: e.error } : {}),
    ...(e.cause ? { cause: reasonFromCause(e.cause) } : {}),
  };
}
