// Reading whole capture records of a window: records of the model inside the window are handed
// on; bad lines, other models and records outside the window are counted; a corrupt gzip object
// is skipped whole; shadow pairs keep only the shadow's own records.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { scanCaptureRecords } from '../../../../../functions/lib/capture/capture-reader.ts';
import type { CaptureRecord } from '../../../../../functions/lib/capture/capture-record.ts';
import { readShadowPairs } from '../../../../../functions/lib/releases/shadow-captures.ts';
import { captureRecord, MemoryCaptureObjects } from '../../../../support/shadow-fakes.ts';

const PARTITION = 'capture/model=flight-delay/dt=2026-11-27/hour=10/';
const window = {
  model: 'flight-delay',
  start: new Date('2026-11-27T10:15:00.000Z'),
  end: new Date('2026-11-27T10:45:00.000Z'),
};

describe('scanCaptureRecords', () => {
  it('hands on the records of the window and counts everything else', async () => {
    const objects = new MemoryCaptureObjects();
    const inside = captureRecord({ requestId: 'in', time: '2026-11-27T10:20:00.000Z' });
    const text = [
      JSON.stringify(inside),
      JSON.stringify(captureRecord({ requestId: 'early', time: '2026-11-27T10:05:00.000Z' })),
      JSON.stringify(captureRecord({ requestId: 'other', time: '2026-11-27T10:20:00.000Z', model: 'other' })),
      '{"kind":"inference-capture"}',
      'not json',
      '',
    ].join('\n');
    objects.objects.set(`${PARTITION}a.gz`, gzipSync(text));
    // Truncated gzip: unreadable, and none of its records count.
    objects.objects.set(`${PARTITION}b.gz`, gzipSync(`${JSON.stringify(inside)}\n`).subarray(0, 20));
    const seen: CaptureRecord[] = [];
    const counts = await scanCaptureRecords(objects, window, (r) => seen.push(r));
    expect(seen.map((r) => r.requestId)).toEqual(['in']);
    expect(counts).toEqual({
      objects: 2,
      unreadableObjects: 1,
      lines: 5,
      malformed: 2,
      outsideWindow: 1,
      otherModel: 1,
    });
  });
});

describe('readShadowPairs', () => {
  it("joins the champion's live records with the shadow's own records, keyed by the live request", async () => {
    const objects = new MemoryCaptureObjects();
    const time = '2026-11-27T10:20:00.000Z';
    objects.put('live', [
      captureRecord({ requestId: 'r1', time, index: 0, score: 0.1 }),
      captureRecord({ requestId: 'r1', time, index: 1, score: 0.6, label: 1 }),
      captureRecord({ requestId: 'canary', time, version: 3 }),
    ]);
    objects.put('shadow', [
      captureRecord({
        requestId: 's1',
        time,
        index: 1,
        version: 2,
        functionVersion: '8',
        role: 'shadow',
        shadowOf: 'r1',
        score: 0.7,
        label: 1,
      }),
      captureRecord({
        requestId: 's2',
        time,
        version: 2,
        functionVersion: '5',
        role: 'shadow',
        shadowOf: 'r1',
      }),
      captureRecord({
        requestId: 's3',
        time,
        version: 4,
        functionVersion: '8',
        role: 'shadow',
        shadowOf: 'r1',
      }),
    ]);
    const pairs = await readShadowPairs(objects, {
      ...window,
      championVersion: 1,
      challengerVersion: 2,
      challengerFunctionVersion: '8',
    });
    expect(pairs.champion.map((r) => [r.requestId, r.index, r.score])).toEqual([
      ['r1', 0, 0.1],
      ['r1', 1, 0.6],
    ]);
    expect(pairs.challenger).toEqual([{ requestId: 'r1', index: 1, score: 0.7, label: 1, latencyMs: 10 }]);
    expect(pairs.counts).toMatchObject({ otherLiveVersions: { 3: 1 }, otherShadow: 2, liveAfterEnd: 0 });
  });
});
