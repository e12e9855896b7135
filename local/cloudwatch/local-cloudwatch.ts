// Local CloudWatch: the metric store the platform and its functions write to (service metrics,
// embedded metric format log lines, PutMetricData), the template's metric alarms evaluated on a
// timer and soon after new datapoints, and each state change logged
// (`[alarm] <name>: OK → ALARM: <reason>`), kept in the alarm history and sent as CloudWatch's
// SNS notification to the alarm's actions. Alarm states survive a restart
// (`<dataDir>/cloudwatch/alarms.json`); datapoints live in memory only.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LambdaService } from '../lambda/lambda-service.ts';
import type { AlarmDefinition } from './alarm-definitions.ts';
import { type AlarmEvaluation, type AlarmStateValue, evaluateAlarm } from './alarm-evaluator.ts';
import { AlarmHistory, type AlarmHistoryItem, type HistoryFilter } from './alarm-history.ts';
import {
  actionsFor,
  notificationMessage,
  notificationSubject,
  type StateChange,
} from './alarm-notification.ts';
import { parseEmfLine } from './emf.ts';
import { type MetricDatum, recordDatum } from './metric-data.ts';
import { MetricStore } from './metric-store.ts';
import { apiGatewayMetrics, lambdaMetrics, stepFunctionsMetrics } from './service-metrics.ts';

export interface LocalCloudWatchOptions {
  readonly log: (line: string) => void;
  /** Alarm states and history go to `<dataDir>/cloudwatch/`. */
  readonly dataDir: string;
  /** Publishes an alarm notification to an SNS topic (the alarm actions). */
  readonly publish?: (topicArn: string, message: string, subject: string) => unknown;
  /** Alarms are evaluated this often. @default 2000 ms */
  readonly evaluationIntervalMs?: number;
  /** And this soon after a datapoint arrives. @default 200 ms */
  readonly evaluationDelayMs?: number;
  /** @default 24 hours */
  readonly retentionMs?: number;
  /** @default 50,000 */
  readonly maxPointsPerSeries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** An alarm and where it stands. */
export interface AlarmStatus {
  readonly definition: AlarmDefinition;
  readonly name: string;
  readonly state: AlarmStateValue;
  readonly reason: string;
  /** JSON text. */
  readonly reasonData?: string;
  /** When the state last changed (epoch ms). */
  readonly stateUpdatedAt: number;
  /** When the definition was loaded (epoch ms). */
  readonly configurationUpdatedAt: number;
}

interface AlarmRecord {
  definition: AlarmDefinition;
  state: AlarmStateValue;
  reason: string;
  reasonData: string | undefined;
  stateUpdatedAt: number;
  configurationUpdatedAt: number;
}

interface Waiter {
  readonly name: string;
  readonly state: AlarmStateValue;
  readonly resolve: (status: AlarmStatus) => void;
}

/** How many distinct EMF problems are logged per function before the rest are only counted. */
const MAX_LOGGED_EMF_PROBLEMS = 20;

export class LocalCloudWatch {
  readonly store: MetricStore;
  private readonly alarmsByName = new Map<string, AlarmRecord>();
  private readonly history: AlarmHistory;
  private readonly stateFile: string;
  private readonly persisted: Record<string, Partial<AlarmRecord>>;
  private readonly now: () => number;
  private readonly waiters = new Set<Waiter>();
  private readonly emfProblems = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: LocalCloudWatchOptions) {
    this.now = options.now ?? Date.now;
    this.store = new MetricStore({
      now: this.now,
      ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
      ...(options.maxPointsPerSeries === undefined ? {} : { maxPointsPerSeries: options.maxPointsPerSeries }),
    });
    this.store.onData = () => this.evaluateSoon();
    const dir = join(options.dataDir, 'cloudwatch');
    this.stateFile = join(dir, 'alarms.json');
    this.history = new AlarmHistory(join(dir, 'alarm-history.jsonl'), 10_000, options.log);
    this.persisted = this.loadStates();
  }

  /** AWS/Lambda metrics: give to `LambdaService.setMetricsSink`. */
  readonly lambdaMetrics = (): ReturnType<typeof lambdaMetrics> => lambdaMetrics(this.store, this.now);
  /** AWS/ApiGateway metrics: give to the gateway's `metrics` option. */
  readonly gatewayMetrics = (): ReturnType<typeof apiGatewayMetrics> =>
    apiGatewayMetrics(this.store, this.now);
  /** AWS/States metrics: give to the Step Functions engine's `metrics` option. */
  readonly stepFunctionsMetrics = (): ReturnType<typeof stepFunctionsMetrics> =>
    stepFunctionsMetrics(this.store, this.now);

  /**
   * Collect what `lambda` reports: AWS/Lambda metrics per invocation and every embedded-metric
   * log line its functions write. Call before the first invocation.
   */
  attachTo(lambda: LambdaService): void {
    lambda.setMetricsSink(this.lambdaMetrics());
    lambda.addLogListener({
      marker: '"_aws"',
      onLines: (lines, source) => this.ingestEmf(lines, source.functionName),
    });
  }

  /** Evaluate `definition` from now on, in the state it had before a restart (else INSUFFICIENT_DATA). */
  addAlarm(definition: AlarmDefinition): void {
    if (this.alarmsByName.has(definition.name))
      throw new Error(`${definition.logicalId}: alarm name ${definition.name} is used by another alarm`);
    const kept = this.persisted[definition.name];
    const now = this.now();
    this.alarmsByName.set(definition.name, {
      definition,
      state: kept?.state ?? 'INSUFFICIENT_DATA',
      reason: kept?.reason ?? 'Unchecked: Initial alarm creation',
      reasonData: kept?.reasonData,
      stateUpdatedAt: kept?.stateUpdatedAt ?? now,
      configurationUpdatedAt: now,
    });
  }

  /** Every alarm with its state, by name. */
  alarms(): AlarmStatus[] {
    return [...this.alarmsByName.values()].map(status).sort((a, b) => a.name.localeCompare(b.name));
  }

  alarm(name: string): AlarmStatus | undefined {
    const record = this.alarmsByName.get(name);
    return record && status(record);
  }

  /** Write one datapoint (or values, or a statistic set); throws InvalidMetricData as PutMetricData would. */
  putMetric(datum: MetricDatum): void {
    recordDatum(this.store, datum, this.now());
  }

  /** Record the metrics of embedded-metric-format log lines (`source`: the function that wrote them). */
  ingestEmf(lines: readonly string[], source = 'unknown'): void {
    for (const line of lines) {
      const reading = parseEmfLine(line);
      for (const problem of reading.problems) this.emfProblem(source, problem);
      for (const point of reading.datapoints) {
        if (!this.store.accepts(point.timestamp)) {
          this.emfProblem(
            source,
            `metric ${point.metricName}: _aws.Timestamp is outside the retention window`,
          );
          continue;
        }
        const series = this.store.series(point.namespace, point.metricName, point.dimensions);
        for (const value of point.values) series.add(point.timestamp, value, 1, point.unit);
      }
    }
  }

  /** Evaluate every alarm now; returns their states afterwards. */
  evaluateNow(): AlarmStatus[] {
    const now = this.now();
    for (const record of this.alarmsByName.values()) {
      let evaluation: AlarmEvaluation;
      try {
        evaluation = evaluateAlarm(record.definition, this.store, now, record.state);
      } catch (err) {
        this.options.log(`[alarm] ${record.definition.name}: cannot be evaluated: ${(err as Error).message}`);
        continue;
      }
      if (evaluation.state !== undefined && evaluation.state !== record.state)
        this.transition(record, { ...evaluation, state: evaluation.state }, now);
    }
    return this.alarms();
  }

  /**
   * Put alarm `name` in `state` for now, as SetAlarmState does (e.g. to try the page path): the
   * change is logged and its actions run; the next evaluation sets the state the data gives.
   */
  setAlarmState(
    name: string,
    state: AlarmStateValue,
    reason: string,
    reasonData?: Record<string, unknown>,
  ): void {
    const record = this.alarmsByName.get(name);
    if (!record) throw new AlarmNotFound(`no alarm named ${name}`);
    if (record.state === state) return;
    this.transition(record, { state, reason, reasonData: reasonData ?? {} }, this.now());
  }

  /** Resolves once alarm `name` is in `state` (evaluating first); rejects after `timeoutMs`. */
  async waitForAlarmState(name: string, state: AlarmStateValue, timeoutMs = 30_000): Promise<AlarmStatus> {
    const record = this.alarmsByName.get(name);
    if (!record)
      throw new AlarmNotFound(
        `no alarm named ${name} (alarms: ${[...this.alarmsByName.keys()].join(', ') || 'none'})`,
      );
    this.evaluateNow();
    if (record.state === state) return status(record);
    return new Promise<AlarmStatus>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `alarm ${name} is still ${record.state} after ${timeoutMs} ms (wanted ${state}): ${record.reason}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        name,
        state,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Alarm history, newest first unless asked otherwise. */
  alarmHistory(filter: HistoryFilter = {}): AlarmHistoryItem[] {
    return this.history.query(filter);
  }

  /** Start evaluating: once now, then on the timer and after new datapoints. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.evaluateNow();
    this.timer = setInterval(() => {
      this.store.prune();
      this.evaluateNow();
    }, this.options.evaluationIntervalMs ?? 2000);
    this.timer.unref();
  }

  close(): void {
    this.running = false;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.timer = undefined;
    this.soon = undefined;
  }

  private evaluateSoon(): void {
    if (!this.running || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.evaluateNow();
    }, this.options.evaluationDelayMs ?? 200);
    this.soon.unref();
  }

  private transition(
    record: AlarmRecord,
    evaluation: AlarmEvaluation & { state: AlarmStateValue },
    now: number,
  ): void {
    const change: StateChange = {
      oldState: record.state,
      newState: evaluation.state,
      reason: evaluation.reason,
      reasonData: evaluation.reasonData,
      time: now,
    };
    const { definition } = record;
    record.state = change.newState;
    record.reason = change.reason;
    record.reasonData = JSON.stringify(change.reasonData);
    record.stateUpdatedAt = now;
    this.options.log(`[alarm] ${definition.name}: ${change.oldState} → ${change.newState}: ${change.reason}`);
    this.history.append({
      AlarmName: definition.name,
      AlarmType: 'MetricAlarm',
      Timestamp: now,
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
    });
    this.saveStates();
    this.runActions(record, change);
    for (const waiter of this.waiters)
      if (waiter.name === definition.name && waiter.state === change.newState) {
        this.waiters.delete(waiter);
        waiter.resolve(status(record));
      }
  }

  /** Publish the notification to each SNS action of the new state; each outcome goes to the history. */
  private runActions(record: AlarmRecord, change: StateChange): void {
    const { definition } = record;
    const actions = actionsFor(definition, change.newState);
    if (actions.length === 0) return;
    const message = JSON.stringify(notificationMessage(definition, change, record.configurationUpdatedAt));
    const subject = notificationSubject(definition, change);
    for (const action of actions) {
      let outcome: string;
      try {
        if (!action.startsWith('arn:aws:sns:')) throw new Error('only SNS topic actions run locally');
        if (!this.options.publish) throw new Error('no SNS topics are wired to local CloudWatch');
        this.options.publish(action, message, subject);
        outcome = `Successfully executed action ${action}`;
      } catch (err) {
        outcome = `Failed to execute action ${action}. Received error: "${(err as Error).message}"`;
        this.options.log(`[alarm] ${definition.name}: ${outcome}`);
      }
      this.history.append({
        AlarmName: definition.name,
        AlarmType: 'MetricAlarm',
        Timestamp: this.now(),
        HistoryItemType: 'Action',
        HistorySummary: outcome,
        HistoryData: JSON.stringify({
          actionState: outcome.startsWith('Successfully') ? 'Succeeded' : 'Failed',
        }),
      });
    }
  }

  private emfProblem(source: string, problem: string): void {
    let seen = this.emfProblems.get(source);
    if (!seen) {
      seen = new Set();
      this.emfProblems.set(source, seen);
    }
    if (seen.has(problem) || seen.size >= MAX_LOGGED_EMF_PROBLEMS) return;
    seen.add(problem);
    this.options.log(`[cloudwatch] ${source}: an embedded-metric log line gave no metric: ${problem}`);
  }

  private loadStates(): Record<string, Partial<AlarmRecord>> {
    if (!existsSync(this.stateFile)) return {};
    try {
      const parsed = JSON.parse(readFileSync(this.stateFile, 'utf8')) as {
        alarms?: Record<string, Partial<AlarmRecord>>;
      };
      return parsed.alarms ?? {};
    } catch (err) {
      this.options.log(
        `[alarm] ${this.stateFile} is unreadable (${(err as Error).message}); alarms start as INSUFFICIENT_DATA`,
      );
      return {};
    }
  }

  /** Overwrite the whole state file (write then rename: a crash never leaves half a file). */
  private saveStates(): void {
    const alarms: Record<string, Partial<AlarmRecord>> = { ...this.persisted };
    for (const [name, r] of this.alarmsByName)
      alarms[name] = {
        state: r.state,
        reason: r.reason,
        reasonData: r.reasonData,
        stateUpdatedAt: r.stateUpdatedAt,
      };
    mkdirSync(join(this.options.dataDir, 'cloudwatch'), { recursive: true });
    const temporary = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ version: 1, alarms }, null, 2)}\n`);
    renameSync(temporary, this.stateFile);
  }
}

/** The alarm named does not exist (the API's ResourceNotFound). */
export class AlarmNotFound extends Error {
  override readonly name = 'AlarmNotFound';
}

function status(record: AlarmRecord): AlarmStatus {
  return {
    definition: record.definition,
    name: record.definition.name,
    state: record.state,
    reason: record.reason,
    ...(record.reasonData === undefined ? {} : { reasonData: record.reasonData }),
    stateUpdatedAt: record.stateUpdatedAt,
    configurationUpdatedAt: record.configurationUpdatedAt,
  };
}
