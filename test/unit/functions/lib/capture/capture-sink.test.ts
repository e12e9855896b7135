import { describe, expect, it } from 'vitest';
import { CaptureRecordSchema } from '../../../../../functions/lib/capture/capture-record.ts';
import {
  type CapturedRequest,
  captureRecords,
  createCaptureSink,
  inSample,
} from '../../../../../functions/lib/capture/capture-sink.ts';
import {
  capturePartitionPrefix,
  capturePartitionPrefixes,
} from '../../../../../functions/lib/storage/s3-layout.ts';

const request = (requestId = 'req-1'): CapturedRequest => ({
  requestId,
  time: new Date('2026-11-27T07:59:59.123Z'),
  model: 'flight-delay',
  version: 3,
  functionVersion: '7',
  latencyMs: 4.2,
  instances: [
    { distance: 300, origin: 'ORD' },
    { distance: 1200, origin: 'SEA' },
  ],
  features: Float32Array.from([0.5, 1, 0, 2.5, 0, 1]),
  scores: Float32Array.from([0.25, 0.75]),
  labels: [0, 1],
});

describe('captureRecords', () => {
  it('makes one schema-valid record per instance with its own row of features', () => {
    const records = captureRecords(request(), 1);
    expect(records).toHaveLength(2);
    for (const record of records) expect(CaptureRecordSchema.parse(record)).toEqual(record);
    expect(records[1]).toMatchObject({
      index: 1,
      input: { distance: 1200, origin: 'SEA' },
      features: [2.5, 0, 1],
      score: 0.75,
      label: 1,
      time: '2026-11-27T07:59:59.123Z',
    });
  });
});

describe('createCaptureSink', () => {
  it('writes all records of a sampled request in one write, one JSON line each', () => {
    const writes: string[] = [];
    const capture = createCaptureSink({ sampleRate: 1, write: (text) => writes.push(text) });
    expect(capture(request())).toEqual({ captured: 2 });
    expect(writes).toHaveLength(1);
    expect(writes[0]?.split('\n')).toHaveLength(3); // two lines and the final newline
  });

  it('returns the error instead of throwing when the write fails', () => {
    const capture = createCaptureSink({
      sampleRate: 1,
      write: () => {
        throw new Error('EPIPE');
      },
    });
    const outcome = capture(request());
    expect(outcome).toMatchObject({ captured: 0, error: expect.objectContaining({ message: 'EPIPE' }) });
  });

  it('samples about the configured share of requests, the same way for the same request id', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `request-${i}`);
    const sampled = ids.filter((id) => inSample(id, 0.1)).length;
    expect(sampled / ids.length).toBeGreaterThan(0.09);
    expect(sampled / ids.length).toBeLessThan(0.11);
    expect(ids.map((id) => inSample(id, 0.1))).toEqual(ids.map((id) => inSample(id, 0.1)));
    expect(ids.every((id) => !inSample(id, 0))).toBe(true);
  });

  it('refuses a sample rate outside 0–1', () => {
    expect(() => createCaptureSink({ sampleRate: 1.5, write: () => undefined })).toThrow(/between 0 and 1/);
  });
});

describe('capture layout', () => {
  it('partitions by the UTC date and hour of the record', () => {
    expect(capturePartitionPrefix('m', new Date('2026-11-27T23:59:59.999Z'))).toBe(
      'capture/model=m/dt=2026-11-27/hour=23/',
    );
  });

  it('lists every hour a window touches, and none for an empty window', () => {
    expect(
      capturePartitionPrefixes('m', new Date('2026-11-27T22:30:00Z'), new Date('2026-11-28T00:00:00Z')),
    ).toEqual(['capture/model=m/dt=2026-11-27/hour=22/', 'capture/model=m/dt=2026-11-27/hour=23/']);
    expect(
      capturePartitionPrefixes('m', new Date('2026-11-27T22:00:00Z'), new Date('2026-11-27T22:00:00Z')),
    ).toEqual([]);
  });
});
