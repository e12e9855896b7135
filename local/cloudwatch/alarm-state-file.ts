// Where alarm states outlive a restart: `<dataDir>/cloudwatch/alarms.json`, the state, reason and
// time of each alarm by name, rewritten whole on every change (write, then rename: a crash never
// leaves half a file). Datapoints are not kept: after a restart, evaluation resumes from the
// state the alarm had.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AlarmStateValue } from './alarm-evaluator.ts';

/** What is kept of one alarm. */
export interface KeptAlarmState {
  readonly state: AlarmStateValue;
  readonly reason: string;
  /** JSON text. */
  readonly reasonData?: string;
  /** Epoch ms. */
  readonly stateUpdatedAt: number;
}

const STATES = new Set(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export class AlarmStateFile {
  constructor(
    private readonly file: string,
    private readonly warn: (line: string) => void,
  ) {}

  /** The kept states by alarm name; entries that do not read as a state are skipped with a warning. */
  load(): Record<string, KeptAlarmState> {
    if (!existsSync(this.file)) return {};
    let alarms: unknown;
    try {
      alarms = (JSON.parse(readFileSync(this.file, 'utf8')) as { alarms?: unknown }).alarms;
    } catch (err) {
      this.warn(
        `[alarm] ${this.file} is unreadable (${(err as Error).message}); alarms start as INSUFFICIENT_DATA`,
      );
      return {};
    }
    const kept: Record<string, KeptAlarmState> = {};
    for (const [name, entry] of Object.entries((alarms ?? {}) as Record<string, Partial<KeptAlarmState>>)) {
      if (
        STATES.has(String(entry?.state)) &&
        typeof entry.reason === 'string' &&
        typeof entry.stateUpdatedAt === 'number' &&
        (entry.reasonData === undefined || typeof entry.reasonData === 'string')
      )
        kept[name] = entry as KeptAlarmState;
      else
        this.warn(
          `[alarm] ${this.file}: the kept state of ${name} is malformed; it starts as INSUFFICIENT_DATA`,
        );
    }
    return kept;
  }

  save(states: Readonly<Record<string, KeptAlarmState>>): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ version: 1, alarms: states }, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}
