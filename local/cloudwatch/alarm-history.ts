// Alarm history (what DescribeAlarmHistory answers): state updates and the actions they ran,
// appended to `<dataDir>/cloudwatch/alarm-history.jsonl` (one short line per item, so concurrent
// appends never interleave inside a line) and kept in memory, the newest `limit` items.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ActionOutcome, StateChange } from './alarm-notification.ts';

export type HistoryItemType = 'StateUpdate' | 'Action' | 'ConfigurationUpdate';

/** One history item, in the API's shape (Timestamp as epoch ms here). */
export interface AlarmHistoryItem {
  readonly AlarmName: string;
  readonly AlarmType: 'MetricAlarm';
  readonly Timestamp: number;
  readonly HistoryItemType: HistoryItemType;
  readonly HistorySummary: string;
  /** JSON text. */
  readonly HistoryData: string;
}

export interface HistoryFilter {
  readonly alarmName?: string;
  readonly type?: HistoryItemType;
  /** Epoch ms, inclusive. */
  readonly start?: number;
  /** Epoch ms, exclusive. */
  readonly end?: number;
  /** @default newest first */
  readonly oldestFirst?: boolean;
}

export class AlarmHistory {
  private items: AlarmHistoryItem[] = [];

  /**
   * @param file the JSONL file; items already there are read back (a restart keeps the history).
   * @param limit items kept in memory (the file keeps them all).
   */
  constructor(
    private readonly file: string,
    private readonly limit = 10_000,
    private readonly warn: (line: string) => void = () => undefined,
  ) {
    if (!existsSync(file)) return;
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-limit);
    for (const [i, line] of lines.entries()) {
      try {
        const item = JSON.parse(line) as AlarmHistoryItem & { Timestamp: string | number };
        this.items.push({ ...item, Timestamp: new Date(item.Timestamp).getTime() });
      } catch {
        this.warn(`[alarm] ${file}: line ${i + 1} of the kept history is not JSON; skipped`);
      }
    }
  }

  append(item: AlarmHistoryItem): void {
    this.items.push(item);
    if (this.items.length > this.limit * 1.5) this.items = this.items.slice(-this.limit);
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(
      this.file,
      `${JSON.stringify({ ...item, Timestamp: new Date(item.Timestamp).toISOString() })}\n`,
    );
  }

  query(filter: HistoryFilter = {}): AlarmHistoryItem[] {
    const matching = this.items.filter(
      (item) =>
        (filter.alarmName === undefined || item.AlarmName === filter.alarmName) &&
        (filter.type === undefined || item.HistoryItemType === filter.type) &&
        (filter.start === undefined || item.Timestamp >= filter.start) &&
        (filter.end === undefined || item.Timestamp < filter.end),
    );
    const ordered = matching.sort((a, b) => a.Timestamp - b.Timestamp);
    return filter.oldestFirst ? ordered : ordered.reverse();
  }
}

/** The history item of a state change. */
export function stateUpdateItem(alarmName: string, change: StateChange): AlarmHistoryItem {
  return {
    AlarmName: alarmName,
    AlarmType: 'MetricAlarm',
    Timestamp: change.time,
    HistoryItemType: 'StateUpdate',
    HistorySummary: `Alarm updated from ${change.oldState} to ${change.newState}`,
    HistoryData: JSON.stringify({
      version: '1.0',
      oldState: { stateValue: change.oldState },
      newState: {
        stateValue: change.newState,
        stateReason: change.reason,
        stateReasonData: change.reasonData,
      },
    }),
  };
}

/** The history item of one action run for a state change. */
export function actionItem(alarmName: string, outcome: ActionOutcome, time: number): AlarmHistoryItem {
  return {
    AlarmName: alarmName,
    AlarmType: 'MetricAlarm',
    Timestamp: time,
    HistoryItemType: 'Action',
    HistorySummary: outcome.summary,
    HistoryData: JSON.stringify({ actionState: outcome.succeeded ? 'Succeeded' : 'Failed' }),
  };
}
