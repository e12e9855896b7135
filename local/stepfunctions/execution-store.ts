// Keeps each execution's record (description and history) on disk at
// `<dataDir>/stepfunctions/<stateMachine>/<execution>.json`, overwritten by key, so a restart
// still lists, describes and shows the history of earlier runs.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import type { HistoryEvent } from './execution-history.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** An execution as DescribeExecution answers it. */
export interface ExecutionDescription {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: Date;
  readonly stopDate?: Date;
  /** JSON text, as given to StartExecution. */
  readonly input: string;
  /** JSON text of the result (SUCCEEDED only). */
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

/** What is stored per execution. */
export interface ExecutionRecord {
  readonly stateMachineName: string;
  readonly description: ExecutionDescription;
  readonly events: readonly HistoryEvent[];
}

const recordSchema = z.object({
  stateMachineName: z.string(),
  description: z.looseObject({
    executionArn: z.string(),
    stateMachineArn: z.string(),
    name: z.string(),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
    startDate: z.coerce.date(),
    stopDate: z.coerce.date().optional(),
    input: z.string(),
    output: z.string().optional(),
    error: z.string().optional(),
    cause: z.string().optional(),
  }),
  events: z.array(
    z.looseObject({
      id: z.number(),
      previousEventId: z.number(),
      timestamp: z.coerce.date(),
      type: z.string(),
    }),
  ),
});

export class ExecutionStore {
  /** @param dir `<dataDir>/stepfunctions` */
  constructor(private readonly dir: string) {}

  /**
   * Overwrite the record of this execution. Written to a temporary file and renamed, so a crash
   * leaves the previous record or the new one, never half of one. Synchronous: saves happen on
   * status changes only, and each lands before the next one starts.
   */
  save(record: ExecutionRecord): void {
    const folder = join(this.dir, record.stateMachineName);
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `${record.description.name}.json`);
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(record));
    renameSync(temp, file);
  }

  /** The stored records of a state machine; unreadable files are reported through `onBadFile` and skipped. */
  load(stateMachineName: string, onBadFile: (file: string, reason: string) => void): ExecutionRecord[] {
    const folder = join(this.dir, stateMachineName);
    let files: string[];
    try {
      files = readdirSync(folder).filter((f) => f.endsWith('.json'));
    } catch {
      return []; // no executions yet
    }
    const records: ExecutionRecord[] = [];
    for (const f of files) {
      const file = join(folder, f);
      try {
        const parsed = recordSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (parsed.success) records.push(parsed.data as ExecutionRecord);
        else onBadFile(file, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      } catch (err) {
        onBadFile(file, (err as Error).message);
      }
    }
    return records;
  }
}
