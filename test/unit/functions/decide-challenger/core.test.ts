// DecideChallenger on dynalite (registry and release record), in-memory captures, ground truth and
// artifacts bucket: the window's live predictions of each arm are joined with the outcomes that
// arrived, the challenger is judged, the report is written at one key per release (the same bytes
// on a retry) and the decision recorded; what is not a finished decision step is refused.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DecidePorts, decideChallenger } from '../../../../functions/decide-challenger/core.ts';
import type { CaptureRecord } from '../../../../functions/lib/capture/capture-record.ts';
import { seededRandom } from '../../../../functions/lib/random.ts';
import { DEFAULT_DECISION_POLICY } from '../../../../functions/lib/releases/champion-challenger.ts';
import type { DynamoDbReleaseStore } from '../../../../functions/lib/releases/dynamodb-release-store.ts';
import { lockTarget } from '../../../../functions/lib/releases/release-record.ts';
import {
  keyOf,
  type Progress,
  type ReleaseContext,
} from '../../../../functions/lib/releases/release-state.ts';
import type { GroundTruthObjects } from '../../../../functions/lib/retraining/ground-truth.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import { type MemoryObjectStore, memoryObjectStore } from '../../../support/memory-object-store.ts';
import {
  ALIAS,
  FUNCTION,
  registerModel,
  releaseContext,
  releaseTables,
  startedRecord,
  TestClock,
} from '../../../support/release-fakes.ts';
import { captureRecord, MemoryCaptureObjects } from '../../../support/shadow-fakes.ts';

let dynamo: TestDynamoDb;
beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

const LOCK = lockTarget(FUNCTION, ALIAS);
/** The slice's decision window: an hour from 08:05, crossing into the 09:00 capture partition. */
const T0 = Date.parse('2026-11-27T08:05:00.000Z');
const at = (minutes: number, seconds = 0) => new Date(T0 + minutes * 60_000 + seconds * 1000).toISOString();
const POLICY = { ...DEFAULT_DECISION_POLICY, windowSeconds: 3600, minLabelledRows: 40 };
const RELEASE = releaseContext({ strategy: 'champion-challenger', plan: [10, 100], decision: POLICY });
const REPORT_KEY = `releases/flight-delay/${RELEASE.releaseId}/decision.json`;
const GT = 'ground-truth/model=flight-delay';

/** Flight `i` as a ground-truth row: 30% of flights (i % 10 < 3) depart more than 15 minutes late. */
const label = (i: number): 0 | 1 => (i % 10 < 3 ? 1 : 0);
const day = (i: number) => String(1 + Math.floor(i / 60)).padStart(2, '0');
const minute = (i: number) => String(i % 60).padStart(2, '0');
const truthRow = (i: number, delay = label(i) === 1 ? 45 : -3) => ({
  date: `2001/02/${day(i)} 10:${minute(i)}`,
  distance: 337,
  origin: 'SFO',
  destination: 'LAX',
  delay,
});
/** Flight `i` as the client sent it: the other date spelling, airports in lower case. */
const served = (i: number) => ({
  date: `2001-02-${day(i)}T10:${minute(i)}`,
  distance: 337,
  origin: 'sfo',
  destination: 'lax',
});

/** Ground-truth objects in memory (the data bucket's `ground-truth/`). */
class MemoryGroundTruth implements GroundTruthObjects {
  readonly objects = new Map<string, Uint8Array>();
  put(key: string, rows: readonly unknown[]): void {
    this.objects.set(key, new TextEncoder().encode(rows.map((r) => `${JSON.stringify(r)}\n`).join('')));
  }
  async listKeys(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async read(key: string): Promise<Uint8Array> {
    const body = this.objects.get(key);
    if (!body) throw Object.assign(new Error(`NoSuchKey: ${key}`), { name: 'NoSuchKey' });
    return body;
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/**
 * The champion (function v4, model v1) served flights 0–119 over the window with scores that
 * ignore the outcome; the challenger (function v5, model v2) served flights 120–179 with scores
 * that separate it. Beside them, records that must not count: a shadow answer, a live answer of
 * another function version, v5 answering with another model version, another model's record,
 * and two answers just outside the window.
 */
function captureWindow(captures: MemoryCaptureObjects): void {
  const random = seededRandom(42);
  const champion = range(0, 120).map((i) =>
    captureRecord({
      requestId: `champion-${i}`,
      time: at(0, 30 * i),
      functionVersion: '4',
      version: 1,
      input: served(i),
      score: random(),
    }),
  );
  const challenger = range(120, 180).map((i, j) =>
    captureRecord({
      requestId: `challenger-${i}`,
      time: at(0, 60 * j + 15),
      functionVersion: '5',
      version: 2,
      input: served(i),
      score: label(i) === 1 ? 0.4 + 0.5 * random() : 0.05 + 0.5 * random(),
    }),
  );
  const hour = (records: CaptureRecord[], h: '08' | '09') =>
    records.filter((r) => r.time.slice(11, 13) === h);
  captures.put('champion-08', hour(champion, '08'));
  captures.put('champion-09', hour(champion, '09'), false);
  captures.put('challenger-08', hour(challenger, '08'));
  captures.put('challenger-09', hour(challenger, '09'));
  captures.put('noise-08', [
    captureRecord({
      requestId: 'shadow',
      time: at(5),
      functionVersion: '5',
      version: 2,
      role: 'shadow',
      input: served(0),
    }),
    captureRecord({ requestId: 'older', time: at(6), functionVersion: '3', version: 1, input: served(1) }),
    captureRecord({ requestId: 'unpinned', time: at(7), functionVersion: '5', version: 1, input: served(2) }),
    captureRecord({ requestId: 'churn', time: at(8), model: 'churn', input: served(3) }),
    captureRecord({ requestId: 'early', time: at(-2), functionVersion: '4', version: 1, input: served(190) }),
  ]);
  captures.put('late-09', [
    captureRecord({ requestId: 'late', time: at(61), functionVersion: '5', version: 2, input: served(191) }),
  ]);
}

/** Outcomes for `champion` and `challenger` flights, flight 170 labelled both ways, and the early and late ones. */
function groundTruth(truth: MemoryGroundTruth, champion: number[], challenger: number[]): void {
  truth.put(
    `${GT}/dt=2026-11-26/part-0.jsonl`,
    champion.map((i) => truthRow(i)),
  );
  truth.put(`${GT}/dt=2026-11-27/part-0.jsonl`, [
    ...challenger.map((i) => truthRow(i)),
    truthRow(170, 45),
    truthRow(170, 2),
    truthRow(190),
    truthRow(191),
  ]);
  truth.objects.set(`${GT}/dt=2026-11-27/_SUCCESS`, new Uint8Array());
}

const decisionProgress = (over: Partial<Progress> = {}): Progress => ({
  stepIndex: 0,
  percent: 10,
  stepStartedAt: at(0),
  bakeUntil: at(60),
  waitSeconds: 0,
  checks: 120,
  verdict: 'healthy',
  bakeComplete: true,
  isLastStep: false,
  isDecisionStep: true,
  reasons: [],
  ...over,
});

const event = (release: ReleaseContext = RELEASE, progress: Progress = decisionProgress()) => ({
  release,
  published: { functionVersion: '5', pins: { 'flight-delay': 2 }, warmed: 2 },
  progress,
});

let store: DynamoDbReleaseStore;
let captures: MemoryCaptureObjects;
let truth: MemoryGroundTruth;
let reports: MemoryObjectStore;
let ports: DecidePorts;
let clock: TestClock;

beforeEach(async () => {
  const tables = await releaseTables(dynamo);
  store = tables.store;
  await registerModel(tables.registry, 'flight-delay', [1, 2], 1);
  await store.createRelease({ ...startedRecord(RELEASE), status: 'baking', newFunctionVersion: '5' });
  clock = new TestClock(T0 + 65 * 60_000);
  await store.acquireLock(
    {
      target: LOCK,
      releaseId: RELEASE.releaseId,
      executionArn: RELEASE.executionArn,
      model: RELEASE.model,
      modelVersion: 2,
      startedAt: RELEASE.startedAt,
      expiresAt: new Date(clock.ms + 900_000).toISOString(),
    },
    clock.now(),
  );
  captures = new MemoryCaptureObjects();
  captureWindow(captures);
  truth = new MemoryGroundTruth();
  reports = memoryObjectStore('artifacts');
  ports = {
    captures,
    groundTruth: truth,
    reports,
    registry: tables.registry,
    store,
    now: clock.now,
    log: () => undefined,
  };
});

const readReport = () => JSON.parse(new TextDecoder().decode(reports.objects.get(REPORT_KEY)?.body));

describe('decideChallenger', () => {
  it('promotes a challenger whose live scores separate the outcomes while the champion’s do not', async () => {
    groundTruth(truth, range(0, 100), range(120, 170));

    const result = await decideChallenger(event(), ports);

    expect(result.decision).toBe('promote');
    expect(result.report).toBe(`s3://artifacts/${REPORT_KEY}`);
    expect(result.summary).toBe(
      `flight-delay v2 beat champion v1 on auc over its 10% slice: ${result.reasons[0]}`,
    );
    expect(result.reasons[1]).toMatch(/^beyond noise: .*100 and 50 labelled predictions/);
    const report = readReport();
    expect(report).toMatchObject({
      model: 'flight-delay',
      releaseId: RELEASE.releaseId,
      window: { start: at(0), end: at(60) },
      slicePercent: 10,
      policy: POLICY,
      decision: 'promote',
      reasons: result.reasons,
      metric: 'auc',
      // Flights 0–99 are labelled, 30 of them late; 120–169 likewise (170 is labelled both ways).
      champion: { functionVersion: '4', modelVersion: 1, captured: 120, labelled: 100, positives: 30 },
      challenger: { functionVersion: '5', modelVersion: 2, captured: 60, labelled: 50, positives: 15 },
      capture: {
        objects: 6,
        unreadableObjects: 0,
        lines: 120 + 60 + 5 + 1,
        malformed: 0,
        outsideWindow: 2,
        otherModel: 1,
        otherVersions: 2,
        invalidInstances: 0,
      },
      groundTruth: {
        partitions: [`${GT}/dt=2026-11-25/`, `${GT}/dt=2026-11-26/`, `${GT}/dt=2026-11-27/`],
        files: 2,
        skippedFiles: [],
        validRows: 100 + 50 + 2 + 2,
        rejectedRows: 0,
        duplicateRows: 0,
        conflictingInstances: 1,
      },
    });
    expect(report.challenger.auc).toBeGreaterThan(0.85);
    expect(report.gain).toBeCloseTo(report.challenger.auc - report.champion.auc, 12);
    expect(report.lowerBound).toBeGreaterThan(0);
    expect((await store.getRelease(keyOf(RELEASE)))?.decided).toEqual({
      decision: 'promote',
      summary: result.summary,
      report: result.report,
      at: clock.now().toISOString(),
    });
  });

  it('writes byte-identical report bytes when retried, whatever order the objects are read in', async () => {
    groundTruth(truth, range(0, 100), range(120, 170));
    const first = await decideChallenger(event(), ports);
    const bytes = reports.objects.get(REPORT_KEY)?.body;
    const list = captures.list.bind(captures);
    captures.list = async (prefix) => (await list(prefix)).reverse();

    const second = await decideChallenger(event(), ports);

    expect(second).toEqual(first);
    expect(reports.writes).toEqual([REPORT_KEY, REPORT_KEY]);
    expect(reports.objects.get(REPORT_KEY)?.body).toEqual(bytes);
  });

  it('keeps the champion when too few of the challenger’s predictions have an outcome yet', async () => {
    groundTruth(truth, range(0, 100), range(120, 130));

    const result = await decideChallenger(event(), ports);

    expect(result.decision).toBe('keep');
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]).toContain(
      'too few labelled predictions to judge — challenger 10 of 60 captured',
    );
    expect(result.reasons[0]).toContain('at least 40 per arm are needed');
    expect(result.summary).toBe(
      `flight-delay v2 did not beat champion v1 on auc over its 10% slice: ${result.reasons[0]}`,
    );
    expect(readReport()).toMatchObject({
      decision: 'keep',
      gain: null,
      challenger: { labelled: 10, captured: 60 },
    });
    expect((await store.getRelease(keyOf(RELEASE)))?.decided).toMatchObject({ decision: 'keep' });
  });

  it('keeps the champion when no outcome has arrived for the window at all', async () => {
    const result = await decideChallenger(event(), ports);

    expect(result.decision).toBe('keep');
    expect(result.reasons[0]).toContain('champion 0 of 120 captured, challenger 0 of 60 captured');
  });

  it('refuses a release that is not champion-challenger', async () => {
    const canary = releaseContext();

    await expect(decideChallenger(event(canary), ports)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: `DecideChallenger: release ${canary.releaseId} is canary, not champion-challenger`,
    });
    expect(reports.writes).toEqual([]);
  });

  it.each([
    ['a step that is not the decision step', { isDecisionStep: false }],
    ['a decision step still baking', { bakeComplete: false }],
  ])('refuses %s', async (_, over) => {
    groundTruth(truth, range(0, 100), range(120, 170));

    await expect(decideChallenger(event(RELEASE, decisionProgress(over)), ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: "DecideChallenger at step 1 before the slice's window has passed",
    });
    expect(reports.writes).toEqual([]);
    expect((await store.getRelease(keyOf(RELEASE)))?.decided).toBeUndefined();
  });

  it('refuses an input that is not a release step', async () => {
    await expect(decideChallenger({ release: RELEASE }, ports)).rejects.toMatchObject({
      name: 'InvalidRequest',
    });
  });

  it('refuses to decide once the release no longer holds the lock, writing nothing', async () => {
    groundTruth(truth, range(0, 100), range(120, 170));
    await store.releaseLock(LOCK, RELEASE.executionArn, clock.now());

    await expect(decideChallenger(event(), ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: `release ${RELEASE.releaseId} no longer holds the lock on ${FUNCTION}:${ALIAS}`,
    });
    expect(reports.writes).toEqual([]);
    expect((await store.getRelease(keyOf(RELEASE)))?.decided).toBeUndefined();
  });
});
