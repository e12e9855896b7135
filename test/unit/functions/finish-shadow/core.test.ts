// FinishShadow on dynalite (the shadow item), in-memory captures and an in-memory artifacts bucket:
// copying stops, the window's live and shadow records are joined, the report is written at one key
// per shadow, and a retry keeps the first finish and rewrites the same report.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChallengerErrorCounter,
  type FinishShadowPorts,
  finishShadow,
  type ShadowComparisonDocument,
} from '../../../../functions/finish-shadow/core.ts';
import { ConflictError, InvalidRequest } from '../../../../functions/lib/errors.ts';
import {
  DynamoDbShadowConfigStore,
  ShadowNotFound,
} from '../../../../functions/lib/releases/shadow-config.ts';
import { REGISTRY_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import { type MemoryObjectStore, memoryObjectStore } from '../../../support/memory-object-store.ts';
import { TestClock } from '../../../support/release-fakes.ts';
import { captureRecord, MemoryCaptureObjects } from '../../../support/shadow-fakes.ts';

let dynamo: TestDynamoDb;
let shadows: DynamoDbShadowConfigStore;
let captures: MemoryCaptureObjects;
let reports: MemoryObjectStore;
let clock: TestClock;
let errorQueries: Array<Parameters<ChallengerErrorCounter>[0]>;

const T0 = Date.parse('2026-11-27T08:30:00.000Z');
const at = (minutes: number, seconds = 0) => new Date(T0 + minutes * 60_000 + seconds * 1000).toISOString();
const REPORT_KEY = 'releases/flight-delay/shadow-20261127T083000Z/comparison.json';

function ports(): FinishShadowPorts {
  return {
    shadows,
    captures,
    reports,
    countChallengerErrors: async (query) => {
      errorQueries.push(query);
      return 1;
    },
    now: clock.now,
    log: () => undefined,
  };
}

/**
 * 150 live requests of v1 over the shadow's hour (crossing into the next UTC hour), 140 of them
 * answered by the challenger a second later with scores 0.02 higher; plus records that must not
 * count: a canary's live record, an earlier shadow's record, a live record after the window.
 */
function captureTraffic(): void {
  const live = Array.from({ length: 150 }, (_, i) =>
    captureRecord({
      requestId: `req-${i}`,
      time: at(0, 20 * i + 1),
      score: (i % 10) / 10 + 0.04,
      label: i % 10 >= 5 ? 1 : 0,
    }),
  );
  const shadow = live.slice(0, 140).map((r, i) =>
    captureRecord({
      requestId: `shadow-invocation-${i}`,
      time: at(0, 20 * i + 2),
      version: 2,
      functionVersion: '4',
      role: 'shadow',
      shadowOf: r.requestId,
      score: r.score + 0.02,
      label: r.label,
      latencyMs: 12,
    }),
  );
  const byHour = (records: typeof live) => [
    records.filter((r) => r.time < '2026-11-27T09:00:00.000Z'),
    records.filter((r) => r.time >= '2026-11-27T09:00:00.000Z'),
  ];
  const [live8, live9] = byHour(live);
  const [shadow8, shadow9] = byHour(shadow);
  captures.put('live-08', live8 ?? []);
  captures.put('live-09', live9 ?? [], false);
  captures.put('shadow-08', shadow8 ?? []);
  captures.put('shadow-09', shadow9 ?? []);
  captures.put('noise', [
    captureRecord({ requestId: 'canary-1', time: at(10), version: 3 }),
    captureRecord({
      requestId: 'old',
      time: at(11),
      version: 2,
      role: 'shadow',
      shadowOf: 'req-1',
      functionVersion: '9',
    }),
  ]);
  captures.put('after', [captureRecord({ requestId: 'late', time: at(61) })]);
}

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo?.stop();
});

beforeEach(async () => {
  shadows = new DynamoDbShadowConfigStore(dynamo.client, await dynamo.createTable(REGISTRY_KEYS));
  captures = new MemoryCaptureObjects();
  reports = memoryObjectStore('artifacts');
  clock = new TestClock(T0 + 70 * 60_000);
  errorQueries = [];
  await shadows.start(
    {
      model: 'flight-delay',
      challengerVersion: 2,
      championVersion: 1,
      functionVersion: '4',
      releaseId: 'release-1',
      startedAt: at(0),
      until: at(60),
    },
    new Date(T0),
  );
});

describe('finishShadow', () => {
  it('stops copying, compares the window and writes the report beside the release records', async () => {
    captureTraffic();
    const finished = await finishShadow({ releaseId: 'release-1' }, ports());
    expect(finished).toEqual({
      outcome: 'shadowed',
      model: 'flight-delay',
      challengerVersion: 2,
      championVersion: 1,
      functionVersion: '4',
      releaseId: 'release-1',
      window: { start: at(0), end: at(60) },
      finishedAt: at(70),
      finishReason: 'completed',
      report: {
        key: REPORT_KEY,
        uri: `s3://artifacts/${REPORT_KEY}`,
        verdict: 'pass',
        reasons: expect.any(Array),
        pairs: 140,
        coverage: expect.closeTo(140 / 150, 12),
        agreementRate: 1,
        meanAbsDelta: expect.closeTo(0.02, 6),
        challengerErrors: 1,
      },
      summary: expect.stringMatching(
        /^flight-delay v2 shadowed against v1 on function v4 \(2026-11-27T08:30:00\.000Z – 2026-11-27T09:30:00\.000Z\): pass — agreement .*; 140 pairs; report s3:\/\/artifacts\/releases\/flight-delay\/shadow-20261127T083000Z\/comparison\.json$/,
      ),
      subject: 'Shadow flight-delay v2: pass',
      message: expect.any(String),
    });
    expect(JSON.parse(finished.message)).toMatchObject({
      event: 'ShadowRelease',
      report: { verdict: 'pass' },
    });
    // The shadow item records where its report is and what it concluded.
    expect(await shadows.get()).toMatchObject({
      state: 'finished',
      finishedAt: at(70),
      report: { uri: `s3://artifacts/${REPORT_KEY}`, verdict: 'pass', at: at(70) },
    });
    expect(errorQueries).toEqual([
      { model: 'flight-delay', functionVersion: '4', start: new Date(at(0)), end: new Date(at(65)) },
    ]);
  });

  it('writes the whole comparison, the shadow and what reading the captures found', async () => {
    captureTraffic();
    await finishShadow({ releaseId: 'release-1' }, ports());
    const doc = JSON.parse(
      new TextDecoder().decode(await reports.read(REPORT_KEY)),
    ) as ShadowComparisonDocument;
    expect(doc).toMatchObject({
      model: 'flight-delay',
      source: 'shadow',
      champion: { version: 1 },
      challenger: { version: 2 },
      counts: {
        pairs: 140,
        requests: 140,
        championOnly: 10,
        challengerOnly: 0,
        duplicates: 0,
        challengerErrors: 1,
      },
      latencyMs: { champion: { p50: 10 }, challenger: { p50: 12 } },
      verdict: { verdict: 'pass' },
      shadow: { releaseId: 'release-1', state: 'finished' },
      captures: {
        objects: 6,
        malformed: 0,
        otherLiveVersions: { 3: 1 },
        otherShadow: 1,
        liveAfterEnd: 1,
      },
    });
  });

  it('keeps the first finish on a retry and rewrites the same report', async () => {
    captureTraffic();
    const first = await finishShadow({ releaseId: 'release-1' }, ports());
    clock.advance(600);
    const again = await finishShadow({ releaseId: 'release-1', reason: 'retried' }, ports());
    expect(again).toEqual(first);
    expect(reports.writes).toEqual([REPORT_KEY, REPORT_KEY]);
  });

  it('compares only up to the finish when a release stops the shadow early', async () => {
    captureTraffic();
    clock = new TestClock(T0 + 20 * 60_000);
    const finished = await finishShadow({ releaseId: 'release-1', reason: 'rolled back' }, ports());
    expect(finished.window).toEqual({ start: at(0), end: at(20) });
    expect(finished.finishReason).toBe('rolled back');
    // Requests every 20 s: 60 in the first 20 minutes, all copied.
    expect(finished.report?.pairs).toBe(60);
  });

  it('only stops copying when asked for no report', async () => {
    const finished = await finishShadow(
      { releaseId: 'release-1', report: false, reason: 'aborted' },
      ports(),
    );
    expect(finished.report).toBeUndefined();
    expect(reports.writes).toEqual([]);
    expect(await shadows.get()).toMatchObject({ state: 'finished', finishReason: 'aborted' });
  });

  it('judges with the criteria it is given', async () => {
    captureTraffic();
    const finished = await finishShadow({ releaseId: 'release-1', criteria: { minCoverage: 0.95 } }, ports());
    expect(finished.report).toMatchObject({
      verdict: 'fail',
      reasons: ['coverage 93.3% is below 95.0%: too few copies were answered to judge'],
    });
  });

  it("refuses another release's shadow, an unknown one and bad input", async () => {
    await expect(finishShadow({ releaseId: 'release-2' }, ports())).rejects.toBeInstanceOf(ConflictError);
    const empty = new DynamoDbShadowConfigStore(dynamo.client, await dynamo.createTable(REGISTRY_KEYS));
    await expect(
      finishShadow({ releaseId: 'release-1' }, { ...ports(), shadows: empty }),
    ).rejects.toBeInstanceOf(ShadowNotFound);
    await expect(
      finishShadow({ releaseId: 'release-1', criteria: { minAgreement: 2 } }, ports()),
    ).rejects.toBeInstanceOf(InvalidRequest);
  });
});
