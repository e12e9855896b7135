// Reading a capture window from its partitions: gzip told by content, lines split across chunks,
// multi-member gzip, oversized lines and corrupt objects skipped and counted.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type CaptureObjects, MAX_LINE_BYTES } from '../../../../../functions/lib/capture/capture-reader.ts';
import type { CaptureRecord } from '../../../../../functions/lib/capture/capture-record.ts';
import { readCaptureWindow } from '../../../../../functions/lib/drift/capture-window.ts';

const START = new Date('2026-11-27T06:00:00.000Z');
const END = new Date('2026-11-27T07:00:00.000Z');
const PREFIX = 'capture/model=m/dt=2026-11-27/hour=06/';

const record = (i: number, overrides: Partial<CaptureRecord> = {}): CaptureRecord => ({
  kind: 'inference-capture',
  time: new Date(START.getTime() + i * 1_000).toISOString(),
  requestId: `r${i}`,
  index: 0,
  model: 'm',
  version: 1,
  functionVersion: '$LATEST',
  latencyMs: 3,
  input: { x: i },
  features: [i],
  score: i / 1_000,
  label: 0,
  sampleRate: 1,
  ...overrides,
});

const jsonl = (records: readonly CaptureRecord[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;

/** Objects by key, each served in chunks of `chunkBytes`. */
function objectsOf(
  objects: Record<string, Uint8Array | string>,
  chunkBytes = 1,
): CaptureObjects & { listed: string[] } {
  const listed: string[] = [];
  return {
    listed,
    async list(prefix) {
      listed.push(prefix);
      return Object.keys(objects).filter((k) => k.startsWith(prefix));
    },
    async open(key) {
      const body = objects[key];
      const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body ?? []);
      return (async function* () {
        for (let i = 0; i < bytes.length; i += chunkBytes) yield bytes.subarray(i, i + chunkBytes);
      })();
    },
  };
}

const query = {
  model: 'm',
  version: 1,
  start: START,
  end: END,
  fields: { x: 'numeric', c: 'categorical' },
} as const;

describe('readCaptureWindow', () => {
  it('lists each partition hour the window overlaps', async () => {
    const objects = objectsOf({});
    await readCaptureWindow(objects, {
      ...query,
      start: new Date('2026-11-27T23:30:00Z'),
      end: new Date('2026-11-28T01:00:00Z'),
    });
    expect(objects.listed.sort()).toEqual([
      'capture/model=m/dt=2026-11-27/hour=23/',
      'capture/model=m/dt=2026-11-28/hour=00/',
    ]);
  });

  it('reads gzip told by its content even one byte at a time, and plain JSON Lines with CRLF', async () => {
    const records = Array.from({ length: 20 }, (_, i) => record(i));
    const objects = objectsOf({
      [`${PREFIX}a`]: gzipSync(jsonl(records.slice(0, 10))),
      [`${PREFIX}b.gz`]: jsonl(records.slice(10)).replaceAll('\n', '\r\n'),
    });

    const window = await readCaptureWindow(objects, query);

    const { columns } = window;
    expect(columns.rows).toBe(20);
    expect([...(columns.columns.x as Float64Array)].sort((a, b) => a - b)).toEqual(
      records.map((r) => r.input.x),
    );
    expect(Array.from(columns.scores ?? []).sort((a, b) => a - b)).toEqual(records.map((r) => r.score));
    expect(window.counts).toMatchObject({ objects: 2, lines: 20, used: 20, malformed: 0 });
  });

  it('reads every member of a concatenated gzip object', async () => {
    const body = Buffer.concat([gzipSync(jsonl([record(1)])), gzipSync(jsonl([record(2), record(3)]))]);
    const window = await readCaptureWindow(objectsOf({ [`${PREFIX}a.gz`]: body }, 7), query);
    expect(window.counts.used).toBe(3);
  });

  it('counts a line over the size limit as malformed without holding it, and goes on', async () => {
    const huge = `{"pad":"${'x'.repeat(MAX_LINE_BYTES + 10)}"}`;
    const text = `${JSON.stringify(record(1))}\n${huge}\n${JSON.stringify(record(2))}\n${huge}`;
    const window = await readCaptureWindow(objectsOf({ [`${PREFIX}a`]: text }, 64 * 1024), query);
    expect(window.counts).toMatchObject({ lines: 4, malformed: 2, used: 2 });
  });

  it('reads numeric fields as finite numbers or NaN and categorical ones as text or null, dropping the rest', async () => {
    const inputs = [
      { x: 1.5, c: 'ATL', extra: 'dropped' },
      { x: '2', c: 7 },
      { x: null, c: true },
      { c: null },
      { x: 3, c: { nested: 1 } },
    ];
    const text = jsonl(inputs.map((input, i) => record(i, { input })));
    const { columns } = await readCaptureWindow(objectsOf({ [`${PREFIX}a`]: text }, 5), query);
    expect(Object.keys(columns.columns)).toEqual(['x', 'c']);
    expect([...(columns.columns.x as Float64Array)]).toEqual([1.5, Number.NaN, Number.NaN, Number.NaN, 3]);
    expect(columns.columns.c).toEqual(['ATL', '7', 'true', null, null]);
  });

  it('keeps the window start and drops its end', async () => {
    const objects = objectsOf({
      [`${PREFIX}a`]: jsonl([
        record(0, { time: START.toISOString() }),
        record(1, { time: '2026-11-27T05:59:59.999Z' }),
        record(2, { time: END.toISOString() }),
      ]),
    });
    const window = await readCaptureWindow(objects, query);
    expect(window.counts).toMatchObject({ used: 1, outsideWindow: 2 });
    expect([...(window.columns.columns.x as Float64Array)]).toEqual([0]);
  });

  it('skips a corrupt gzip object whole and counts it', async () => {
    const good = gzipSync(jsonl([record(1), record(2)]));
    const truncated = good.subarray(0, good.length - 12);
    const window = await readCaptureWindow(
      objectsOf({ [`${PREFIX}good.gz`]: good, [`${PREFIX}cut.gz`]: truncated }, 16),
      query,
    );
    expect(window.counts).toMatchObject({ objects: 2, unreadableObjects: 1, used: 2, lines: 2 });
  });

  it('throws a read failure in the middle of an object', async () => {
    const objects: CaptureObjects = {
      list: async () => [`${PREFIX}a.gz`],
      async open() {
        return (async function* () {
          yield gzipSync(jsonl([record(1)])).subarray(0, 10);
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        })();
      },
    };
    await expect(readCaptureWindow(objects, query)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});
