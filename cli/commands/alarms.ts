// `mlops alarms [--state ALARM|OK|INSUFFICIENT_DATA] [--prefix P]`: the stack's CloudWatch alarms
// and where each stands, through DescribeAlarms — the same call against the local platform and AWS.
import {
  CloudWatchClient,
  type MetricAlarm,
  paginateDescribeAlarms,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { table } from '../format.ts';
import { clientOptions, type Target } from '../target.ts';

export interface AlarmsArgs {
  readonly state?: string;
  readonly prefix?: string;
  readonly json: boolean;
}

const STATES: readonly StateValue[] = ['ALARM', 'OK', 'INSUFFICIENT_DATA'];
/** Long reasons are cut in the table (`--json` has them whole). */
const REASON_WIDTH = 120;

/** One alarm as the command shows it. */
export interface AlarmRow {
  readonly name: string;
  readonly state: string;
  /** ISO time of the last state change. */
  readonly since: string;
  readonly reason: string;
  readonly description?: string;
  readonly actions: readonly string[];
}

export async function alarmsCommand(target: Target, args: AlarmsArgs): Promise<number> {
  const state = args.state?.toUpperCase();
  if (state !== undefined && !STATES.includes(state as StateValue))
    throw new Error(`--state must be one of ${STATES.join(', ')} (got ${args.state})`);
  const client = new CloudWatchClient(clientOptions(target, 'cloudwatch'));
  const alarms: MetricAlarm[] = [];
  for await (const page of paginateDescribeAlarms(
    { client },
    {
      ...(state === undefined ? {} : { StateValue: state as StateValue }),
      ...(args.prefix === undefined ? {} : { AlarmNamePrefix: args.prefix }),
    },
  ))
    alarms.push(...(page.MetricAlarms ?? []));
  const rows = alarms.map(toRow).sort(byUrgency);
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    console.log(
      state || args.prefix
        ? `no alarms${state ? ` in ${state}` : ''}${args.prefix ? ` named ${args.prefix}…` : ''}`
        : 'no alarms',
    );
    return 0;
  }
  const now = Date.now();
  console.log(
    table(
      ['alarm', 'state', 'since', 'reason'],
      rows.map((r) => [r.name, r.state, since(r.since, now), cut(r.reason, REASON_WIDTH)]),
    ),
  );
  const firing = rows.filter((r) => r.state === 'ALARM').length;
  console.log(`\n${rows.length} alarms, ${firing} in ALARM`);
  return 0;
}

function toRow(a: MetricAlarm): AlarmRow {
  return {
    name: a.AlarmName ?? '',
    state: a.StateValue ?? 'INSUFFICIENT_DATA',
    since: a.StateUpdatedTimestamp?.toISOString() ?? '',
    reason: a.StateReason ?? '',
    ...(a.AlarmDescription ? { description: a.AlarmDescription } : {}),
    actions: a.AlarmActions ?? [],
  };
}

/** ALARM first, then INSUFFICIENT_DATA, then OK; by name within a state. */
function byUrgency(a: AlarmRow, b: AlarmRow): number {
  const rank = (s: string) => (s === 'ALARM' ? 0 : s === 'INSUFFICIENT_DATA' ? 1 : 2);
  return rank(a.state) - rank(b.state) || a.name.localeCompare(b.name);
}

/** `2026-11-02 10:05:01 (3 min ago)`. */
export function since(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '-';
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  const ago =
    seconds < 60
      ? `${seconds} s ago`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)} min ago`
        : seconds < 86_400
          ? `${Math.floor(seconds / 3600)} h ago`
          : `${Math.floor(seconds / 86_400)} d ago`;
  return `${iso.slice(0, 19).replace('T', ' ')} (${ago})`;
}

const cut = (text: string, width: number) => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);
