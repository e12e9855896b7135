// The drift check use case on in-memory ports: windows judged against the Production version's
// profile, the K-in-a-row alert policy applied once per window (re-runs and races included), one
// retraining per raised window, reports and metrics, and per-model failures.
import { describe, expect, it } from 'vitest';
import {
  checkDrift,
  type DriftCheckConfig,
  DriftCheckFailed,
  type DriftCheckSummary,
  type ModelDriftCheck,
  ThresholdsByModelSchema,
  thresholdsFor,
} from '../../../../functions/drift-check/core.ts';
import type { DriftWindowRange } from '../../../../functions/drift-check/request.ts';
import { compareToProfile } from '../../../../functions/lib/drift/drift-report.ts';
import { buildProfile } from '../../../../functions/lib/drift/profile.ts';
import type { DriftWindowReport } from '../../../../functions/lib/drift/window-report.ts';
import { emfLine } from '../../../../functions/lib/metrics/emf.ts';
import type { ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import {
  RetrainingRequestSchema,
  retrainingExecutionName,
} from '../../../../functions/lib/retraining/retraining-request.ts';
import { driftReportKeys } from '../../../../functions/lib/storage/s3-layout.ts';
import { recipeFor } from '../../../../functions/lib/training/recipes.ts';
import { loadFlights } from '../../../support/flights-dataset.ts';
import {
  CHECKED_AT,
  captureRecords,
  type Harness,
  harness,
  putCaptures,
  referenceProfile,
  type TrafficShift,
  traffic,
} from './fakes.ts';

const MODEL = 'flight-delay';
const hourWindow = (hour: number): DriftWindowRange => ({
  start: new Date(Date.UTC(2026, 10, 27, hour)),
  end: new Date(Date.UTC(2026, 10, 27, hour + 1)),
});
const W1 = hourWindow(6);
const W2 = hourWindow(7);
const W3 = hourWindow(8);
const CONFIG: DriftCheckConfig = { consecutiveWindows: 2, thresholds: {} };
const SHIFTED: TrafficShift = { distance: 1 };

let seed = 100;
/** Capture `n` rows of `model` v`version` (default: the reference distribution) spread over `window`. */
async function capture(
  h: Harness,
  window: DriftWindowRange,
  options: { shift?: TrafficShift; n?: number; model?: string; version?: number } = {},
) {
  const records = captureRecords(
    options.model ?? MODEL,
    options.version ?? 3,
    traffic(options.n ?? 2_000, seed++, options.shift),
    window.start,
    window.end,
  );
  await putCaptures(h.data, records);
}

const check = (h: Harness, window: DriftWindowRange, config: DriftCheckConfig = CONFIG, model?: string) =>
  checkDrift({ window, ...(model ? { model } : {}) }, h.ports, config);

function only(summary: DriftCheckSummary): ModelDriftCheck {
  expect(summary.models).toHaveLength(1);
  return summary.models[0]!;
}

const reportBytes = (h: Harness, window: DriftWindowRange, model = MODEL) =>
  Buffer.from(h.data.objects.get(driftReportKeys(model, window.end).json)?.body ?? []).toString('utf8');
const storedReport = (h: Harness, window: DriftWindowRange, model = MODEL) =>
  JSON.parse(reportBytes(h, window, model)) as DriftWindowReport;

/** The EMF lines of the metrics emitted so far, parsed back. */
const emfLines = (h: Harness) => h.metrics.map((entry) => JSON.parse(emfLine(entry)) as Record<string, any>);

async function setUp(options: { retraining?: boolean } = {}) {
  const h = harness(options);
  await h.addModel(MODEL, 3);
  return h;
}

describe('checkDrift', () => {
  it('judges a window drawn from the reference stable, writes its report, and starts nothing', async () => {
    const h = await setUp();
    await capture(h, W1);

    const summary = await check(h, W1);

    expect(summary.window).toEqual({ start: '2026-11-27T06:00:00.000Z', end: '2026-11-27T07:00:00.000Z' });
    const result = only(summary);
    expect(result).toMatchObject({
      model: MODEL,
      version: 3,
      status: 'stable',
      insufficientData: false,
      rows: 2_000,
      alert: { state: 'ok', consecutive: 0, alarm: false, raised: false, outcome: 'applied' },
    });
    expect(result.retraining).toBeUndefined();
    expect(h.retraining.calls).toBe(0);
    const keys = driftReportKeys(MODEL, W1.end);
    expect(result.report).toEqual({ json: `s3://data/${keys.json}`, html: `s3://data/${keys.html}` });
    expect(h.data.objects.get(keys.html)?.contentType).toBe('text/html; charset=utf-8');
    const report = storedReport(h, W1);
    expect(report).toMatchObject({
      formatVersion: 1,
      model: MODEL,
      version: 3,
      profileUri: 's3://artifacts/models/flight-delay/3/profile.json',
      window: summary.window,
      records: { used: 2_000, malformed: 0 },
      alert: { state: 'ok', consecutiveWindows: 2, raised: false },
      thresholds: { minRows: 500, psi: { watch: 0.1, significant: 0.25 } },
      drift: { status: 'stable', rows: 2_000 },
    });
    expect(Object.keys(report.drift.fields)).toEqual(['distance', 'origin']);
  });

  it('reports exactly what compareToProfile says of the captured rows, and renders it as a page', async () => {
    const h = await setUp();
    const data = traffic(2_000, 31, SHIFTED);
    await putCaptures(h.data, captureRecords(MODEL, 3, data, W1.start, W1.end));

    await check(h, W1);

    const oracle = compareToProfile(referenceProfile(), data);
    expect(storedReport(h, W1).drift).toEqual(JSON.parse(JSON.stringify(oracle)));
    const html = Buffer.from(h.data.objects.get(driftReportKeys(MODEL, W1.end).html)?.body ?? []).toString();
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).toContain(MODEL);
    expect(html).toContain('distance');
    expect(html).toContain(CHECKED_AT.toISOString().slice(0, 16).replace('T', ' '));
  });

  it('raises the alarm on the second shifted window in a row and starts one retraining named after model and window', async () => {
    const h = await setUp();
    await capture(h, W1, { shift: SHIFTED });
    await capture(h, W2, { shift: SHIFTED });

    const first = only(await check(h, W1));
    expect(first).toMatchObject({
      status: 'significant',
      alert: { state: 'pending', consecutive: 1, raised: false, outcome: 'applied' },
    });
    expect(first.retraining).toBeUndefined();
    expect(h.retraining.calls).toBe(0);

    const second = only(await check(h, W2));
    expect(second.alert).toMatchObject({ state: 'alarm', consecutive: 2, alarm: true, raised: true });
    const name = retrainingExecutionName(MODEL, W2.end);
    expect(name).toBe('flight-delay-drift-20261127T080000Z');
    expect(second.retraining).toEqual({
      status: 'started',
      executionName: name,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:retraining:${name}`,
    });
    expect([...h.retraining.executions.keys()]).toEqual([name]);
    const input = h.retraining.executions.get(name);
    expect(RetrainingRequestSchema.parse(input)).toEqual({
      model: MODEL,
      trigger: 'drift',
      window: { start: '2026-11-27T07:00:00.000Z', end: '2026-11-27T08:00:00.000Z' },
      reason: expect.stringMatching(
        /^alarm: 2 significant windows in a row \(K = 2\): significant: distance/,
      ),
    });
  });

  it('counts a re-run of the same window once and starts no second retraining', async () => {
    const h = await setUp();
    await capture(h, W1, { shift: SHIFTED });
    await capture(h, W2, { shift: SHIFTED });
    await check(h, W1);
    const firstW1Report = reportBytes(h, W1);
    const raised = only(await check(h, W2));
    const firstW2Report = reportBytes(h, W2);

    const again = only(await check(h, W2));

    expect(again.alert).toMatchObject({ state: 'alarm', consecutive: 2, raised: true, outcome: 'replayed' });
    expect(h.alerts.items.get(MODEL)).toMatchObject({
      consecutive: 2,
      revision: 2,
      lastWindow: W2.end.toISOString(),
    });
    // Re-issued with the same name (in case the first start was lost), refused as a duplicate.
    expect(again.retraining).toMatchObject({
      status: 'already-started',
      executionName: raised.retraining?.executionName,
    });
    expect(h.retraining.executions.size).toBe(1);
    expect(reportBytes(h, W2)).toBe(firstW2Report);

    // An older window checked late leaves the state alone and keeps the decision its report recorded.
    const late = only(await check(h, W1));
    expect(late.alert).toMatchObject({ state: 'pending', consecutive: 1, outcome: 'stale' });
    expect(late.retraining).toBeUndefined();
    expect(h.alerts.items.get(MODEL)?.revision).toBe(2);
    expect(reportBytes(h, W1)).toBe(firstW1Report);
  });

  it('applies a window once when two checks of it race, and starts its retraining once', async () => {
    const h = await setUp();
    await capture(h, W1, { shift: SHIFTED });
    await capture(h, W2, { shift: SHIFTED });
    for (const window of [W1, W2]) {
      let racing: Promise<DriftCheckSummary> | undefined;
      // The other check decides and writes between this one's read and its write.
      h.alerts.beforePut = async () => {
        racing = check(h, window);
        await racing;
      };
      const first = only(await check(h, window));
      const second = only(await racing!);
      expect(first.alert).toMatchObject({ outcome: 'replayed' });
      expect(second.alert).toMatchObject({ outcome: 'applied' });
      expect(first.alert).toEqual({ ...second.alert, outcome: 'replayed' });
    }
    expect(h.alerts.items.get(MODEL)).toMatchObject({ state: 'alarm', consecutive: 2, revision: 2 });
    expect(h.retraining.calls).toBe(2);
    expect([...h.retraining.executions.keys()]).toEqual([retrainingExecutionName(MODEL, W2.end)]);
    expect(h.logs.some((l) => l.message === 'alert state changed while deciding; deciding again')).toBe(true);
  });

  it('reports a window with too few rows as insufficient data, neither drift nor no drift', async () => {
    const h = await setUp();
    await capture(h, W1, { shift: SHIFTED });
    await capture(h, W2, { shift: SHIFTED, n: 100 });
    await capture(h, W3, { shift: SHIFTED });
    await check(h, W1);
    h.metrics.length = 0;

    const thin = only(await check(h, W2));

    expect(thin).toMatchObject({
      status: 'insufficient-data',
      insufficientData: true,
      reason: '100 rows < 500 needed',
      rows: 100,
      alert: { state: 'pending', consecutive: 1, raised: false },
    });
    const names = emfLines(h).flatMap((line) =>
      line._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name),
    );
    expect(names.sort()).toEqual(['DriftAlarm', 'DriftInsufficientData', 'DriftWindowRows']);
    expect(emfLines(h).find((l) => 'DriftInsufficientData' in l)).toMatchObject({
      DriftInsufficientData: 1,
      DriftWindowRows: 100,
    });
    // The thin window neither broke the run of drifted windows nor counted in it.
    expect(only(await check(h, W3)).alert).toMatchObject({ state: 'alarm', consecutive: 2, raised: true });
  });

  it('reports a window without any capture as insufficient data', async () => {
    const h = await setUp();

    const result = only(await check(h, W1));

    expect(result).toMatchObject({
      status: 'insufficient-data',
      insufficientData: true,
      rows: 0,
      records: { objects: 0, lines: 0, used: 0 },
      alert: { state: 'ok', consecutive: 0, outcome: 'applied' },
    });
    expect(emfLines(h).find((l) => 'DriftWindowRows' in l)).toMatchObject({
      DriftWindowRows: 0,
      DriftInsufficientData: 1,
    });
  });

  it('skips records of other versions, other models, outside the window and malformed lines, and counts each', async () => {
    const h = await setUp();
    const halfHour = { start: W1.start, end: new Date(W1.start.getTime() + 30 * 60_000) };
    const later = { start: halfHour.end, end: W1.end };
    const records = [
      ...captureRecords(MODEL, 3, traffic(2_000, 7), halfHour.start, halfHour.end),
      ...captureRecords(MODEL, 4, traffic(300, 8), halfHour.start, halfHour.end),
      ...captureRecords(MODEL, 3, traffic(100, 9), later.start, later.end),
    ];
    // A record of another model in this model's partition would be an upstream partitioning fault.
    const misplaced = captureRecords('other-model', 3, traffic(1, 10), halfHour.start, halfHour.end)[0];
    await putCaptures(h.data, records, {
      perObject: 500,
      extraLines: [
        'not json',
        '{"kind":"inference-capture","model":"flight-delay"}',
        '',
        '   ',
        JSON.stringify(misplaced),
      ],
    });

    const result = only(await check(h, halfHour));

    const expected = {
      objects: 5,
      unreadableObjects: 0,
      lines: 2_000 + 300 + 100 + 2 + 1,
      malformed: 2,
      used: 2_000,
      outsideWindow: 100,
      otherModel: 1,
      otherVersions: { 4: 300 },
    };
    expect(result.records).toEqual(expected);
    expect(result.rows).toBe(2_000);
    expect(storedReport(h, halfHour).records).toEqual(expected);
  });

  it('reads plain and gzip objects alike and skips a corrupt gzip object, counting it', async () => {
    const h = await setUp();
    const records = captureRecords(MODEL, 3, traffic(1_000, 11), W1.start, W1.end);
    await putCaptures(h.data, records.slice(0, 600), { gzip: false });
    await putCaptures(h.data, records.slice(600));
    const corrupt = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(64, 0x41)]);
    await h.data.write(
      'capture/model=flight-delay/dt=2026-11-27/hour=06/broken.gz',
      corrupt,
      'application/gzip',
    );

    const result = only(await check(h, W1));

    expect(result.records).toMatchObject({ objects: 3, unreadableObjects: 1, used: 1_000, malformed: 0 });
  });

  it('reports a model without a usable profile and still checks the others', async () => {
    const h = harness();
    await h.addModel('no-profile', 1, null);
    await h.addModel('bad-profile', 1, null);
    await h.artifacts.write('models/bad-profile/1/profile.json', '{"formatVersion":2}', 'application/json');
    await h.addModel(MODEL, 3);
    h.models.set('never-promoted', { model: 'never-promoted', latestVersion: 1, stageRevision: 0 });
    await capture(h, W1);

    const summary = await check(h, W1);

    const byModel = Object.fromEntries(summary.models.map((m) => [m.model, m]));
    expect(Object.keys(byModel).sort()).toEqual(['bad-profile', MODEL, 'no-profile']);
    expect(byModel['no-profile']).toMatchObject({
      status: 'error',
      version: 1,
      reason:
        'no-profile v1 has no training profile at s3://artifacts/models/no-profile/1/profile.json; the drift check compares against it',
    });
    expect(byModel['bad-profile']).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(
        /^s3:\/\/artifacts\/models\/bad-profile\/1\/profile\.json is not a valid profile: formatVersion/,
      ),
    });
    expect(byModel[MODEL]).toMatchObject({ status: 'stable', rows: 2_000 });
    expect(h.alerts.items.has('no-profile')).toBe(false);

    const unknown = only(await check(h, W1, CONFIG, 'never-promoted'));
    expect(unknown).toMatchObject({
      status: 'error',
      reason: 'never-promoted has no Production version to check',
    });
  });

  it('throws transient faults so the invocation is retried', async () => {
    const h = await setUp();
    h.ports.captures.list = async () => {
      throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });
    };
    await expect(check(h, W1)).rejects.toMatchObject({ name: 'SlowDown' });
  });

  it('reports an unexpected fault of one model and throws DriftCheckFailed once the others are checked', async () => {
    const h = await setUp();
    await h.addModel('a-broken-model', 1);
    await capture(h, W1);
    const get = h.alerts.get.bind(h.alerts);
    h.alerts.get = async (model) => {
      if (model === 'a-broken-model') throw new Error('item is not a valid alert state');
      return get(model);
    };

    const failed = await check(h, W1).catch((err: unknown) => err);

    expect(failed).toBeInstanceOf(DriftCheckFailed);
    const { summary, message } = failed as DriftCheckFailed;
    expect(message).toBe(
      'drift check failed for 1 of 2 models (a-broken-model: item is not a valid alert state)',
    );
    expect(summary.models.map((m) => [m.model, m.status])).toEqual([
      ['a-broken-model', 'error'],
      [MODEL, 'stable'],
    ]);
  });

  it('reports a raised alarm without starting anything when no retraining is configured', async () => {
    const h = await setUp({ retraining: false });
    await capture(h, W1, { shift: SHIFTED });
    await capture(h, W2, { shift: SHIFTED });
    await check(h, W1);

    const result = only(await check(h, W2));

    expect(result.alert).toMatchObject({ raised: true });
    expect(result.retraining).toEqual({
      status: 'not-configured',
      executionName: retrainingExecutionName(MODEL, W2.end),
    });
    expect(h.logs.some((l) => l.level === 'warn' && /no retraining state machine/.test(l.message))).toBe(
      true,
    );
  });

  it('starts counting afresh when another version becomes Production', async () => {
    const h = await setUp();
    await capture(h, W1, { shift: SHIFTED });
    await check(h, W1);
    await h.addModel(MODEL, 4);
    await capture(h, W2, { shift: SHIFTED, version: 4 });

    const result = only(await check(h, W2));

    expect(result).toMatchObject({ version: 4, alert: { state: 'pending', consecutive: 1, raised: false } });
    expect(h.alerts.items.get(MODEL)?.reference).toBe('v4');
  });

  it('publishes per-feature and per-model metrics timestamped at the window end', async () => {
    const h = await setUp();
    await capture(h, W1, { shift: SHIFTED });

    await check(h, W1);

    const lines = emfLines(h);
    expect(lines.every((l) => l._aws.Timestamp === W1.end.getTime())).toBe(true);
    expect(lines.every((l) => l._aws.CloudWatchMetrics[0].Namespace === 'MLOps')).toBe(true);
    const metricsOf = (l: Record<string, any>) => l._aws.CloudWatchMetrics[0].Metrics.map((m: any) => m.Name);
    const distance = lines.find((l) => l.Feature === 'distance')!;
    expect(distance._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Model', 'Feature']]);
    expect(metricsOf(distance)).toEqual(['FeaturePSI', 'FeatureKS', 'FeatureNullRateChange']);
    expect(distance).toMatchObject({ Model: MODEL, FeatureNullRateChange: 0 });
    expect(distance.FeaturePSI).toBeGreaterThan(0.25);
    expect(distance.FeatureKS).toBeGreaterThan(0.2);
    const origin = lines.find((l) => l.Feature === 'origin')!;
    expect(metricsOf(origin)).toEqual(['FeaturePSI', 'FeatureNullRateChange']);
    expect(origin.FeaturePSI).toBeLessThan(0.1);
    const model = lines.find((l) => 'DriftWindowRows' in l)!;
    expect(model._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Model']]);
    expect(model).toMatchObject({ DriftWindowRows: 2_000, DriftInsufficientData: 0, DriftedFeatures: 1 });
    expect(model.PredictionPSI).toBeGreaterThan(0.25);
    const alarm = lines.find((l) => 'DriftAlarm' in l)!;
    expect(alarm._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Model'], []]);
    expect(alarm).toMatchObject({ Model: MODEL, DriftAlarm: 0, alertState: 'pending' });
  });

  it('writes byte-identical reports for the same window and records, in any order, compressed or not', async () => {
    const records = captureRecords(MODEL, 3, traffic(2_000, 21, SHIFTED), W1.start, W1.end);
    const a = await setUp();
    await putCaptures(a.data, records, { perObject: 1_000 });
    const b = await setUp();
    await putCaptures(b.data, [...records].reverse(), { perObject: 1_000, gzip: false });

    await check(a, W1);
    await check(b, W1);
    const bytes = reportBytes(a, W1);
    expect(reportBytes(b, W1)).toBe(bytes);
    expect(a.data.objects.get(driftReportKeys(MODEL, W1.end).html)?.body).toEqual(
      b.data.objects.get(driftReportKeys(MODEL, W1.end).html)?.body,
    );
    await check(a, W1);
    expect(reportBytes(a, W1)).toBe(bytes);
  });

  it('judges each model with its own thresholds laid over the shared ones', async () => {
    const h = await setUp();
    await capture(h, W1);
    const strict: DriftCheckConfig = { ...CONFIG, thresholds: { '*': { minRows: 3_000 } } };
    expect(only(await check(h, W1, strict))).toMatchObject({ status: 'insufficient-data' });
    const own: DriftCheckConfig = {
      ...CONFIG,
      thresholds: {
        '*': { minRows: 3_000, psi: { watch: 0.2, significant: 0.3 } },
        [MODEL]: { minRows: 1_000 },
      },
    };
    expect(only(await check(h, W1, own))).toMatchObject({ status: 'stable' });
    expect(thresholdsFor(own.thresholds, MODEL)).toMatchObject({ minRows: 1_000, psi: { watch: 0.2 } });
    expect(thresholdsFor(own.thresholds, 'another')).toMatchObject({ minRows: 3_000 });
  });
});

describe('ThresholdsByModelSchema', () => {
  it('accepts per-model entries over a shared one', () => {
    const value = { '*': { minRows: 1_000 }, [MODEL]: { psi: { watch: 0.05, significant: 0.2 } } };
    expect(ThresholdsByModelSchema.parse(value)).toEqual(value);
  });

  it('fails naming the model and field of a bad or misspelt threshold', () => {
    const bad = ThresholdsByModelSchema.safeParse({ '*': { minRows: 0 }, [MODEL]: { minrows: 10 } });
    expect(bad.success).toBe(false);
    const issues = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toContainEqual(expect.stringMatching(/^\*\.minRows: /));
    expect(issues).toContainEqual(expect.stringMatching(/^flight-delay: .*minrows/));
  });
});

describe('checkDrift on a feature set with derived monitored values', () => {
  it('judges the values training profiled (departure hour, weekday from the date), not the raw request', async () => {
    // Prepare: flights profiled as training does, and real flights captured as the API received them.
    const h = harness();
    const recipe = recipeFor('flights-v1');
    const { instances } = loadFlights();
    const profile = buildProfile({
      fields: recipe.monitoredFields,
      rows: instances.slice(0, 10_000).map((i) => recipe.monitoredValues(i)),
    });
    await h.addModel(MODEL, 3, profile);
    h.versions.set(`${MODEL}#3`, { featureSet: 'flights-v1' } as ModelVersion);
    const live = instances.slice(10_000, 13_000);
    await putCaptures(
      h.data,
      captureRecords(
        MODEL,
        3,
        { rows: live.map((i) => ({ ...i })), scores: live.map(() => 0.2) },
        W1.start,
        W1.end,
      ),
    );

    // Act
    const summary = await checkDrift({ model: MODEL, window: W1 }, h.ports, CONFIG);

    // Assess
    const [result] = summary.models;
    const report = JSON.parse(
      Buffer.from(await h.data.read(driftReportKeys(MODEL, W1.end).json)).toString('utf8'),
    ) as DriftWindowReport;
    expect(result?.status).not.toBe('significant');
    for (const field of ['departure_hour', 'weekday', 'distance', 'origin'])
      expect(report.drift.fields[field]?.nullRate.live).toBe(0);
  });
});
