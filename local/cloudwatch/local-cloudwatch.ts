// Local CloudWatch: the metric store the platform and its functions write to (service metrics,
// embedded metric format log lines, PutMetricData), the template's metric alarms evaluated on a
// timer and soon after new datapoints, and each state change logged
// (`[alarm] <name>: OK → ALARM: <reason>`), kept in the alarm history and sent as CloudWatch's
// SNS notification to the alarm's actions. Alarm states survive a restart
// (`<dataDir>/cloudwatch/alarms.json`); datapoints live in memory only.
import { join } from 'node:path';
import type { LambdaService } from '../lambda/lambda-service.ts';
import type { AlarmDefinition } from './alarm-definitions.ts';
import { type AlarmEvaluation, type AlarmStateValue, evaluateAlarm } from './alarm-evaluator.ts';
import {
  AlarmHistory,
  type AlarmHistoryItem,
  actionItem,
  type HistoryFilter,
  stateUpdateItem,
} from './alarm-history.ts';
import { runActions, type StateChange } from './alarm-notification.ts';
import { AlarmStateFile, type KeptAlarmState } from './alarm-state-file.ts';
import { EmfIngest } from './emf-ingest.ts';
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
  /** How long datapoints are kept (per minute). @default 24 hours */
  readonly retentionMs?: number;
  /** How long per-second aggregates are kept, for periods under a minute. @default 3 hours */
  readonly highResolutionRetentionMs?: number;
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
  /** Why the last evaluation failed, if it did. */
  evaluationError?: string | undefined;
}

interface Waiter {
  readonly name: string;
  readonly state: AlarmStateValue;
  readonly resolve: (status: AlarmStatus) => void;
}

export class LocalCloudWatch {
  readonly store: MetricStore;
  private readonly alarmsByName = new Map<string, AlarmRecord>();
  private readonly history: AlarmHistory;
  private readonly stateFile: AlarmStateFile;
  /** States kept by an earlier run, by alarm name. */
  private readonly kept: Record<string, KeptAlarmState>;
  private readonly now: () => number;
  private readonly waiters = new Set<Waiter>();
  private readonly emf: EmfIngest;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: LocalCloudWatchOptions) {
    this.now = options.now ?? Date.now;
    this.store = new MetricStore({
      now: this.now,
      ...(options.retentionMs === undefined ? {} : { retentionMs: options.retentionMs }),
      ...(options.highResolutionRetentionMs === undefined
        ? {}
        : { highResolutionRetentionMs: options.highResolutionRetentionMs }),
    });
    this.store.onData = () => this.evaluateSoon();
    this.emf = new EmfIngest(this.store, options.log);
    const dir = join(options.dataDir, 'cloudwatch');
    this.stateFile = new AlarmStateFile(join(dir, 'alarms.json'), options.log);
    this.history = new AlarmHistory(join(dir, 'alarm-history.jsonl'), 10_000, options.log);
    this.kept = this.stateFile.load();
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
    const kept = this.kept[definition.name];
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
    this.emf.ingest(lines, source);
  }

  /** Evaluate every alarm now; returns their states afterwards. */
  evaluateNow(): AlarmStatus[] {
    const now = this.now();
    for (const record of this.alarmsByName.values()) {
      let evaluation: AlarmEvaluation;
      try {
        evaluation = evaluateAlarm(record.definition, this.store, now, record.state);
      } catch (err) {
        // Said once, not at every tick, until the failure changes.
        const message = (err as Error).message;
        if (record.evaluationError !== message)
          this.options.log(`[alarm] ${record.definition.name}: cannot be evaluated: ${message}`);
        record.evaluationError = message;
        continue;
      }
      record.evaluationError = undefined;
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
    this.history.append(stateUpdateItem(definition.name, change));
    this.saveStates();
    for (const outcome of runActions(
      definition,
      change,
      record.configurationUpdatedAt,
      this.options.publish,
    )) {
      if (!outcome.succeeded) this.options.log(`[alarm] ${definition.name}: ${outcome.summary}`);
      this.history.append(actionItem(definition.name, outcome, this.now()));
    }
    for (const waiter of this.waiters)
      if (waiter.name === definition.name && waiter.state === change.newState) {
        this.waiters.delete(waiter);
        waiter.resolve(status(record));
      }
  }

  /** Keep every alarm's state (and those of alarms an earlier run had that this one has not). */
  private saveStates(): void {
    const states: Record<string, KeptAlarmState> = { ...this.kept };
    for (const [name, r] of this.alarmsByName)
      states[name] = {
        state: r.state,
        reason: r.reason,
        ...(r.reasonData === undefined ? {} : { reasonData: r.reasonData }),
        stateUpdatedAt: r.stateUpdatedAt,
      };
    this.stateFile.save(states);
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
