// `mlops drift check|simulate`: run the drift check on a window and print its verdict, or replay
// shifted traffic through the prediction API and watch the loop close: capture → drift check →
// alarm → retraining → decision. The same S3, Lambda, Step Functions and CloudWatch calls work
// against the local platform and AWS (where capture takes the delivery stream's minute to land).
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { s3CaptureObjects } from '../../functions/drift-check/adapters.ts';
import type { DriftCheckSummary, ModelDriftCheck } from '../../functions/drift-check/core.ts';
import { readCaptureWindow } from '../../functions/lib/drift/capture-window.ts';
import { reasonFromCause } from '../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import {
  type RetrainingRequest,
  retrainingExecutionName,
} from '../../functions/lib/retraining/retraining-request.ts';
import { dropGroundTruth, seedFlights, sendInstances } from '../api-traffic.ts';
import {
  distinctShiftedFlights,
  instanceOf,
  SHIFT_DESCRIPTIONS,
  SHIFT_KINDS,
  type ShiftKind,
  shiftedFlights,
} from '../drift-simulation.ts';
import { clientOptions, type Target } from '../target.ts';
import { follow, releaseClients } from './release.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface DriftCheckArgs {
  readonly model?: string;
  /** ISO times; both or neither (then the last full window before now). */
  readonly start?: string;
  readonly end?: string;
  readonly json: boolean;
}

/** Invoke the drift check function; its summary, or the function's error as an Error. */
async function invokeDriftCheck(
  target: Target,
  request: { model?: string; window?: { start: string; end: string } },
): Promise<DriftCheckSummary> {
  const name = target.outputs.DriftCheckFunctionName;
  if (!name) throw new Error('the stack has no DriftCheckFunctionName output (deploy the drift monitor)');
  const lambda = new LambdaClient(clientOptions(target, 'lambda'));
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: name, Payload: new TextEncoder().encode(JSON.stringify(request)) }),
  );
  const text = new TextDecoder().decode(out.Payload ?? new Uint8Array());
  const payload = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (out.FunctionError)
    throw new Error(
      `drift check failed: ${String(payload.errorType ?? 'Error')}: ${String(payload.errorMessage ?? text)}`,
    );
  return payload as unknown as DriftCheckSummary;
}

/** One model's verdict in a few lines: status, the fields that moved, the alert, the report. */
function describeCheck(check: ModelDriftCheck): string[] {
  const lines = [`${check.model} v${check.version ?? '?'}: ${check.status} — ${check.reason}`];
  if (check.records)
    lines.push(
      `  rows ${check.rows ?? 0} compared (${check.records.malformed} malformed, ${Object.values(check.records.otherVersions).reduce((a, b) => a + b, 0)} of other versions skipped)`,
    );
  if (check.alert && 'state' in check.alert)
    lines.push(
      `  alert ${check.alert.state} (${check.alert.consecutive} drifted window${check.alert.consecutive === 1 ? '' : 's'} in a row)${check.alert.raised ? ' — RAISED' : ''}`,
    );
  if (check.retraining)
    lines.push(`  retraining ${check.retraining.status}: ${check.retraining.executionName}`);
  if (check.report) lines.push(`  report ${check.report.html}`);
  return lines;
}

export async function driftCheckCommand(target: Target, args: DriftCheckArgs): Promise<number> {
  if ((args.start === undefined) !== (args.end === undefined))
    throw new Error('give both --start and --end, or neither (the last full window)');
  const summary = await invokeDriftCheck(target, {
    ...(args.model ? { model: args.model } : {}),
    ...(args.start && args.end ? { window: { start: args.start, end: args.end } } : {}),
  });
  if (args.json) {
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  }
  console.log(`window ${summary.window.start} → ${summary.window.end}`);
  if (summary.models.length === 0) console.log('no model has a Production version: nothing checked');
  for (const check of summary.models) for (const line of describeCheck(check)) console.log(line);
  return summary.models.some((m) => m.status === 'error') ? 1 : 0;
}

export interface DriftSimulateArgs {
  readonly shift: string;
  readonly model: string;
  /** Predictions per window. */
  readonly rows: number;
  /** Windows of traffic, each checked on its own; the alarm needs K (default 2) drifted in a row. */
  readonly windows: number;
  /** Labelled flights dropped as ground truth for the retraining. */
  readonly labelledRows: number;
  readonly seed: number;
  /**
   * Each step's bake in the release of a winning challenger, when this command starts the
   * retraining itself (`5s` locally by default; the release pipeline's own when absent).
   */
  readonly releaseBake?: string;
  readonly json: boolean;
}

/** Wait until `expected` capture records of the window are in S3 (or the wait limit passes). */
async function waitForCapture(
  s3: S3Client,
  bucket: string,
  query: { model: string; version: number; start: Date; end: Date },
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const window = await readCaptureWindow(s3CaptureObjects(s3, bucket), { ...query, fields: {} });
    if (window.counts.used >= expected || Date.now() > deadline) return window.counts.used;
    await sleep(500);
  }
}

/** Poll an execution to its end, printing each state as it is entered. */
async function followExecution(
  sfn: SFNClient,
  executionArn: string,
  onState: (name: string) => void,
  timeoutMs = 30 * 60_000,
): Promise<{ status: string; output?: unknown; error?: string; cause?: string }> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  for (;;) {
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const entered = (history.events ?? []).filter((e) => e.type?.endsWith('StateEntered'));
    for (const event of entered.slice(seen)) onState(event.stateEnteredEventDetails?.name ?? '?');
    seen = entered.length;
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING')
      return {
        status: execution.status ?? 'UNKNOWN',
        ...(execution.output ? { output: JSON.parse(execution.output) } : {}),
        ...(execution.error ? { error: execution.error } : {}),
        ...(execution.cause ? { cause: execution.cause } : {}),
      };
    if (Date.now() > deadline) throw new Error(`${executionArn} still running after the wait limit`);
    await sleep(500);
  }
}

/**
 * What `drift simulate` reads in a retraining notification's message (JSON): its reasons, and the
 * release it started for a winning challenger. Nothing from a message that is not JSON.
 */
function notificationOf(message: string | undefined): {
  reasons: string[];
  release?: { executionName: string; executionArn: string };
} {
  try {
    const parsed = JSON.parse(message ?? '{}') as {
      reasons?: unknown;
      release?: { executionName?: unknown; executionArn?: unknown };
    };
    const { executionName, executionArn } = parsed.release ?? {};
    return {
      reasons: Array.isArray(parsed.reasons) ? parsed.reasons.map(String) : [],
      ...(typeof executionName === 'string' && typeof executionArn === 'string'
        ? { release: { executionName, executionArn } }
        : {}),
    };
  } catch {
    return { reasons: [] };
  }
}

/** The alarm's state, waiting up to `waitMs` for it to leave OK (local alarms evaluate every few seconds). */
async function alarmStateAfter(
  target: Target,
  alarmName: string,
  waitMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const state = await alarmState(target, alarmName);
    if (state === undefined || state.startsWith('ALARM') || Date.now() > deadline) return state;
    await sleep(500);
  }
}

/** Start a retraining by hand (what a schedule would do); the existing one when the name is taken. */
async function startRetraining(sfn: SFNClient, stateMachineArn: string, request: RetrainingRequest) {
  const name = retrainingExecutionName(request.model, new Date(request.window.end), request.trigger);
  try {
    const out = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) }),
    );
    return { name, executionArn: out.executionArn ?? '' };
  } catch (err) {
    if (!(err instanceof ExecutionAlreadyExists)) throw err;
    return { name, executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}` };
  }
}

async function alarmState(target: Target, alarmName: string): Promise<string | undefined> {
  try {
    const cw = new CloudWatchClient(clientOptions(target, 'cloudwatch'));
    const out = await cw.send(new DescribeAlarmsCommand({ AlarmNames: [alarmName] }));
    const alarm = out.MetricAlarms?.[0];
    return alarm ? `${alarm.StateValue}: ${alarm.StateReason ?? ''}` : undefined;
  } catch {
    return undefined;
  }
}

export async function driftSimulateCommand(target: Target, args: DriftSimulateArgs): Promise<number> {
  const shift = args.shift as ShiftKind;
  if (!SHIFT_KINDS.includes(shift))
    throw new Error(`--shift must be one of ${SHIFT_KINDS.join(', ')} (got ${args.shift})`);
  for (const [name, value] of Object.entries({
    rows: args.rows,
    windows: args.windows,
    'labelled-rows': args.labelledRows,
  }))
    if (!(Number.isInteger(value) && value > 0))
      throw new Error(`--${name} must be a positive integer (got ${value})`);
  const bucket = target.outputs.DataBucketName;
  const retrainingArn = target.outputs.RetrainingPipelineArn;
  if (!bucket || !retrainingArn)
    throw new Error('the stack has no DataBucketName / RetrainingPipelineArn outputs');
  const say = (line: string) => {
    if (!args.json) console.log(line);
  };
  const s3 = new S3Client(clientOptions(target, 's3'));
  const sfn = new SFNClient(clientOptions(target, 'sfn'));
  const registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(target, 'dynamodb'))),
    target.outputs.RegistryTableName ?? '',
  );
  const champion = await registry.getProductionVersion(args.model);
  if (!champion) throw new Error(`${args.model} has no Production version to send traffic to`);
  const flights = seedFlights();
  const started = Date.now();
  say(`shift: ${shift} — ${SHIFT_DESCRIPTIONS[shift]}`);
  say(`champion: ${args.model} v${champion.version}`);

  // Labels arrive late in life; here they are dropped first, so a retraining has them.
  const labelled = distinctShiftedFlights(
    flights,
    shift,
    Math.min(args.labelledRows, flights.length),
    args.seed + 1,
  );
  const groundTruthUri = await dropGroundTruth(target, args.model, `simulated-${shift}`, labelled);
  say(`ground truth: ${labelled.length} labelled flights → ${groundTruthUri}`);

  const traffic = shiftedFlights(flights, shift, args.rows * args.windows, args.seed).map(instanceOf);
  const checks: Array<ModelDriftCheck & { readonly window: DriftCheckSummary['window'] }> = [];
  let windowStart = new Date();
  const captureWaitMs = target.kind === 'local' ? 30_000 : 5 * 60_000;
  for (let w = 0; w < args.windows; w++) {
    const sent = await sendInstances(target, args.model, traffic.slice(w * args.rows, (w + 1) * args.rows));
    // The window closes after the last answer: every record of it is inside [start, end).
    await sleep(5);
    const windowEnd = new Date();
    if (sent.failures.length > 0) say(`  ${sent.failures.length} requests failed: ${sent.failures[0]}`);
    const captured = await waitForCapture(
      s3,
      bucket,
      { model: args.model, version: champion.version, start: windowStart, end: windowEnd },
      args.rows,
      captureWaitMs,
    );
    say(
      `window ${w + 1}/${args.windows}: ${sent.requestIds.length} requests answered, ${captured} captured instances`,
    );
    const summary = await invokeDriftCheck(target, {
      model: args.model,
      window: { start: windowStart.toISOString(), end: windowEnd.toISOString() },
    });
    for (const check of summary.models) {
      checks.push({ ...check, window: summary.window });
      for (const line of describeCheck(check)) say(`  ${line}`);
    }
    windowStart = windowEnd;
  }

  const last = checks.at(-1);
  const raised = checks.find((c) => c.retraining && c.retraining.status !== 'not-configured');
  const alarm = raised
    ? await alarmStateAfter(target, `${target.stackName}-ModelDrift`, target.kind === 'local' ? 10_000 : 0)
    : await alarmState(target, `${target.stackName}-ModelDrift`);
  if (alarm) say(`alarm ${target.stackName}-ModelDrift: ${alarm}`);
  let retraining: { name: string; executionArn: string } | undefined;
  /** Whether this command started the retraining (and so chose its release's bakes). */
  let startedByUs = false;
  if (raised?.retraining && 'executionArn' in raised.retraining) {
    retraining = { name: raised.retraining.executionName, executionArn: raised.retraining.executionArn };
    say(`retraining started by the drift alarm: ${retraining.name}`);
  } else {
    // Concept drift leaves P(x) alone: no input or prediction drift to see. Labels show it; a
    // scheduled retraining is how it gets caught, so run one now.
    say(
      `no drift alarm${last ? ` (last window: ${last.status})` : ''}; starting a retraining as a schedule would, on the labelled data`,
    );
    const releaseBake = args.releaseBake ?? (target.kind === 'local' ? '5s' : undefined);
    retraining = await startRetraining(sfn, retrainingArn, {
      model: args.model,
      trigger: 'manual',
      window: { start: new Date(started).toISOString(), end: windowStart.toISOString() },
      reason: `mlops drift simulate --shift ${shift}`,
      ...(releaseBake ? { policy: { release: { bake: releaseBake } } } : {}),
    });
    startedByUs = true;
  }
  const outcome = await followExecution(sfn, retraining.executionArn, (state) => say(`  → ${state}`));
  // The execution's output is the outcome: promoted | kept (with the reasons) | failed.
  const result = outcome.output as
    | { status?: string; summary?: string; message?: string; output?: string }
    | undefined;
  say(
    `retraining ${outcome.status}: ${result?.summary ?? [outcome.error, outcome.cause].filter(Boolean).join(': ')}`,
  );
  const { reasons, release } = notificationOf(result?.message);
  for (const reason of reasons.slice(1)) say(`  · ${reason}`);
  if (result?.output) say(`  details ${result.output}`);
  // A winning challenger goes live through its own release: follow it when this command chose
  // its bakes; one the drift alarm started runs with the deployment's (minutes per step).
  let released: Awaited<ReturnType<typeof follow>> | undefined;
  if (release && startedByUs) {
    say(`release ${release.executionName}:`);
    released = await follow(
      releaseClients(target),
      release.executionArn,
      args.model,
      release.executionName,
      say,
    );
    const ended = released.output ? (JSON.parse(released.output) as { summary?: string }) : {};
    say(
      released.status === 'SUCCEEDED'
        ? `✓ ${ended.summary ?? 'released'}`
        : `✗ ${released.error ?? released.status}: ${reasonFromCause(released.cause)}`,
    );
  } else if (release)
    say(`release ${release.executionName} runs on its own: \`mlops status ${args.model}\` shows its step`);
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (args.json)
    console.log(
      JSON.stringify(
        {
          shift,
          champion: champion.version,
          checks,
          alarm,
          retraining: { ...retraining, ...outcome },
          ...(released
            ? {
                release: {
                  executionArn: released.executionArn,
                  status: released.status,
                  ...(released.output ? { output: JSON.parse(released.output) as unknown } : {}),
                  ...(released.error
                    ? { error: released.error, cause: reasonFromCause(released.cause) }
                    : {}),
                },
              }
            : {}),
        },
        null,
        2,
      ),
    );
  return result?.status === 'failed' ||
    outcome.status !== 'SUCCEEDED' ||
    (released && released.status !== 'SUCCEEDED')
    ? 1
    : 0;
}
