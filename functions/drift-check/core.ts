// The drift check use case: for each model with a Production version, compare the window's
// capture records with that version's training profile, apply the alert policy (K significant
// windows in a row), write the report (JSON and HTML), emit the metrics, and start retraining
// when the alarm is raised. Ports only: no AWS SDK here.
import * as z from 'zod';
import type { CaptureObjects } from '../lib/capture/capture-reader.ts';
import type { AlertStateStore } from '../lib/drift/alert-state-store.ts';
import { type CaptureCounts, readCaptureWindow } from '../lib/drift/capture-window.ts';
import {
  compareColumnsToProfile,
  type DriftStatus,
  type DriftThresholds,
  type DriftThresholdsInput,
  DriftThresholdsSchema,
} from '../lib/drift/drift-report.ts';
import { type Profile, ProfileSchema } from '../lib/drift/profile.ts';
import type { DriftReportPage } from '../lib/drift/report-html.ts';
import {
  type DriftWindowReport,
  WINDOW_REPORT_FORMAT,
  type WindowAlert,
} from '../lib/drift/window-report.ts';
import { isTransient, ModelNotFound, ModelUnavailable, PlatformError } from '../lib/errors.ts';
import type { EmfEntry } from '../lib/metrics/emf.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import { type RetrainingRequest, retrainingExecutionName } from '../lib/retraining/retraining-request.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { artifactKeys, driftReportKeys, s3Uri } from '../lib/storage/s3-layout.ts';
import { getRecipe } from '../lib/training/recipes.ts';
import { windowMetrics } from './metrics.ts';
import type { DriftCheckRequest, DriftWindowRange } from './request.ts';
import { type AlertOutcome, decideWindowAlert, earlierAlert } from './window-alert.ts';

/** Port: starts the retraining state machine. */
export interface RetrainingStarter {
  /**
   * Start the execution `name` with `request` as its input. `alreadyStarted` when an execution of
   * that name exists (Step Functions refuses a second one): the window's retraining is under way.
   */
  start(name: string, request: RetrainingRequest): Promise<{ executionArn: string; alreadyStarted: boolean }>;
}

export interface DriftCheckLog {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** Dependencies of `checkDrift`, supplied by the handler (AWS) or by tests (fakes). */
export interface DriftCheckPorts {
  readonly registry: Pick<ModelRegistry, 'listModels' | 'getModel' | 'getVersion'>;
  /** The capture objects (data bucket). */
  readonly captures: CaptureObjects;
  /** The artifacts bucket, where each version's profile.json is. */
  readonly artifacts: Pick<ObjectStore, 'bucket' | 'read'>;
  /** The data bucket, where reports are written (and an earlier report of a window is read). */
  readonly reports: ObjectStore;
  readonly alerts: AlertStateStore;
  /** Absent when this deployment has no retraining state machine: a raised alarm is only reported. */
  readonly retraining?: RetrainingStarter;
  /** The report's self-contained HTML page (functions/lib/drift/report-html.ts). */
  readonly renderHtml: (page: DriftReportPage) => string;
  /** The clock, for the HTML page's "generated at" only: the JSON report holds no wall-clock time. */
  readonly now: () => Date;
  /** Publishes metrics (EMF lines on stdout on Lambda). */
  readonly emitMetrics: (entries: readonly EmfEntry[]) => void;
  readonly log: DriftCheckLog;
}

/** Thresholds by model name, `*` for every model; a model's own entry is laid over `*` key by key. */
export type ThresholdsByModel = Readonly<Record<string, DriftThresholdsInput>>;

/**
 * Parses thresholds by model (`DRIFT_THRESHOLDS`), checking each model's entry as laid over `*`,
 * and refusing unknown keys at the top of an entry (a misspelt `minRows` would be ignored otherwise).
 */
export const ThresholdsByModelSchema: z.ZodType<ThresholdsByModel> = z
  .record(z.string(), z.record(z.string(), z.unknown()))
  .superRefine((byModel, ctx) => {
    const strict = DriftThresholdsSchema.strict();
    for (const [model, entry] of Object.entries(byModel)) {
      const all = model === '*' || !Object.hasOwn(byModel, '*') ? {} : byModel['*'];
      const parsed = strict.safeParse({ ...all, ...entry });
      if (!parsed.success)
        for (const issue of parsed.error.issues)
          ctx.addIssue({ code: 'custom', path: [model, ...issue.path], message: issue.message });
    }
  }) as z.ZodType<ThresholdsByModel>;

export interface DriftCheckConfig {
  /** K of the alert policy. */
  readonly consecutiveWindows: number;
  readonly thresholds: ThresholdsByModel;
}

/** What starting retraining came to. */
export type RetrainingOutcome =
  | {
      readonly status: 'started' | 'already-started';
      readonly executionName: string;
      readonly executionArn: string;
    }
  | { readonly status: 'not-configured'; readonly executionName: string };

export type { AlertOutcome };

export interface ModelDriftCheck {
  readonly model: string;
  /** The window's drift status, or `error` when the model could not be checked (see `reason`). */
  readonly status: DriftStatus | 'error';
  readonly reason: string;
  /** The window had too few rows (or values) to judge: neither drift nor no drift. */
  readonly insufficientData: boolean;
  readonly version?: number;
  /** Rows compared. */
  readonly rows?: number;
  readonly records?: CaptureCounts;
  /** `s3://` URIs of the report. */
  readonly report?: { readonly json: string; readonly html: string };
  readonly alert?: (WindowAlert & { readonly outcome: AlertOutcome }) | { readonly outcome: 'stale' };
  /** Present when the alarm was raised by this window. */
  readonly retraining?: RetrainingOutcome;
}

export interface DriftCheckSummary {
  readonly window: { readonly start: string; readonly end: string };
  readonly models: readonly ModelDriftCheck[];
}

/** The drift check failed for some models for reasons other than their own data; the others were checked. */
export class DriftCheckFailed extends Error {
  override readonly name = 'DriftCheckFailed';
  constructor(
    message: string,
    readonly summary: DriftCheckSummary,
  ) {
    super(message);
  }
}

/** The thresholds for `model`: its own entry laid over `*`, defaults filled in. Throws a ZodError when invalid. */
export function thresholdsFor(byModel: ThresholdsByModel, model: string): DriftThresholds {
  const own = Object.hasOwn(byModel, model) ? byModel[model] : undefined;
  const all = Object.hasOwn(byModel, '*') ? byModel['*'] : undefined;
  return DriftThresholdsSchema.parse({ ...all, ...own });
}

/**
 * Check `request.window` for `request.model`, or for every model with a Production version.
 * A model that cannot be checked for reasons of its own (no Production version, no or a bad
 * profile) is reported with status `error` and the others are still checked; transient faults are
 * thrown at once (the invocation is retried, and every write it repeats is idempotent); any other
 * fault is reported and, once every model is done, thrown as DriftCheckFailed.
 */
export async function checkDrift(
  request: DriftCheckRequest,
  ports: DriftCheckPorts,
  config: DriftCheckConfig,
): Promise<DriftCheckSummary> {
  const window = { start: request.window.start.toISOString(), end: request.window.end.toISOString() };
  const targets = request.model
    ? [{ model: request.model, version: (await ports.registry.getModel(request.model))?.productionVersion }]
    : (await ports.registry.listModels())
        .filter((m) => m.productionVersion !== undefined)
        .map((m) => ({ model: m.model, version: m.productionVersion }));
  if (targets.length === 0) ports.log.info('no model has a Production version: nothing to check', { window });

  const results: ModelDriftCheck[] = [];
  const failures: string[] = [];
  for (const { model, version } of targets) {
    try {
      if (version === undefined) throw new ModelNotFound(`${model} has no Production version to check`);
      results.push(await checkModel(model, version, request.window, ports, config));
    } catch (err) {
      if (isTransient(err)) throw err;
      const expected = err instanceof PlatformError;
      const reason = err instanceof Error ? err.message : String(err);
      ports.log[expected ? 'warn' : 'error']('drift check failed for a model', {
        model,
        version,
        window,
        error: reason,
        ...(expected ? {} : { stack: (err as Error).stack }),
      });
      if (!expected) failures.push(`${model}: ${reason}`);
      results.push({
        model,
        status: 'error',
        reason,
        insufficientData: false,
        ...(version === undefined ? {} : { version }),
      });
    }
  }
  const summary: DriftCheckSummary = { window, models: results };
  if (failures.length > 0)
    throw new DriftCheckFailed(
      `drift check failed for ${failures.length} of ${targets.length} models (${failures.join('; ')})`,
      summary,
    );
  return summary;
}

async function loadProfile(ports: DriftCheckPorts, model: string, version: number): Promise<Profile> {
  const key = artifactKeys(model, version).profile;
  const uri = s3Uri(ports.artifacts.bucket, key);
  let bytes: Uint8Array;
  try {
    bytes = await ports.artifacts.read(key);
  } catch (err) {
    if (['NoSuchKey', 'NotFound'].includes((err as Error).name))
      throw new ModelUnavailable(
        `${model} v${version} has no training profile at ${uri}; the drift check compares against it`,
      );
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ModelUnavailable(`${uri} is not JSON`);
  }
  const parsed = ProfileSchema.safeParse(json);
  if (!parsed.success)
    throw new ModelUnavailable(
      `${uri} is not a valid profile: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

async function checkModel(
  model: string,
  version: number,
  range: DriftWindowRange,
  ports: DriftCheckPorts,
  config: DriftCheckConfig,
): Promise<ModelDriftCheck> {
  const windowEnd = range.end.toISOString();
  const window = { start: range.start.toISOString(), end: windowEnd };
  const profile = await loadProfile(ports, model, version);
  const thresholds = thresholdsFor(config.thresholds, model);
  const fields = Object.fromEntries(
    Object.entries(profile.fields).map(([name, field]) => [name, field.kind]),
  );
  // Training profiled the feature set's monitored values, not the raw request: derive the same.
  const registered = await ports.registry.getVersion(model, version);
  const recipe = registered ? getRecipe(registered.featureSet) : undefined;
  const captured = await readCaptureWindow(ports.captures, {
    model,
    version,
    ...range,
    fields,
    ...(recipe ? { monitoredValues: (input) => recipe.monitoredValues(input as never) } : {}),
  });
  const drift = compareColumnsToProfile(profile, captured.columns, thresholds);
  const keys = driftReportKeys(model, range.end);

  const { alert, outcome } = await decideWindowAlert(
    { model, drift, windowEnd, reference: `v${version}`, consecutiveWindows: config.consecutiveWindows },
    { alerts: ports.alerts, log: (message, data) => ports.log.info(message, data) },
  );
  const report: DriftWindowReport = {
    formatVersion: WINDOW_REPORT_FORMAT,
    model,
    version,
    profileUri: s3Uri(ports.artifacts.bucket, artifactKeys(model, version).profile),
    window,
    records: captured.counts,
    thresholds,
    alert: alert ?? (await earlierAlert(ports.reports, keys.json)),
    drift,
  };
  // Written after the alert state, so a report always shows a decision that was stored; a
  // failure here is retried with the invocation, which replays that decision.
  const json = await ports.reports.write(
    keys.json,
    `${JSON.stringify(report, null, 2)}\n`,
    'application/json',
  );
  const page: DriftReportPage = {
    report: drift,
    model,
    version,
    window,
    generatedAt: ports.now().toISOString(),
    thresholds,
    ...(report.alert ? { alert: report.alert } : {}),
  };
  const html = await ports.reports.write(keys.html, ports.renderHtml(page), 'text/html; charset=utf-8');
  ports.emitMetrics(windowMetrics({ model, version, windowEnd: range.end, drift, alert: report.alert }));

  const retraining =
    report.alert?.raised && outcome !== 'stale'
      ? await startRetraining(model, window, report.alert.reason, ports)
      : undefined;
  const result: ModelDriftCheck = {
    model,
    status: drift.status,
    reason: drift.reason,
    insufficientData: drift.status === 'insufficient-data',
    version,
    rows: drift.rows,
    records: captured.counts,
    report: { json, html },
    alert: report.alert ? { ...report.alert, outcome } : { outcome: 'stale' },
    ...(retraining ? { retraining } : {}),
  };
  ports.log.info('drift window checked', {
    model,
    version,
    window,
    status: drift.status,
    reason: drift.reason,
    rows: drift.rows,
    records: captured.counts,
    alert: result.alert,
    ...(retraining ? { retraining } : {}),
  });
  return result;
}

async function startRetraining(
  model: string,
  window: { start: string; end: string },
  reason: string,
  ports: DriftCheckPorts,
): Promise<RetrainingOutcome> {
  const executionName = retrainingExecutionName(model, new Date(window.end));
  if (!ports.retraining) {
    ports.log.warn('drift alarm raised, but no retraining state machine is configured', { model, window });
    return { status: 'not-configured', executionName };
  }
  const started = await ports.retraining.start(executionName, {
    model,
    trigger: 'drift',
    window,
    reason,
  });
  return {
    status: started.alreadyStarted ? 'already-started' : 'started',
    executionName,
    executionArn: started.executionArn,
  };
}
