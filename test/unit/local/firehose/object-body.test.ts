// An object's body as a delivery stream buffers it: records in order, compressed while the
// buffer fills, exact byte counts however the text is encoded.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ObjectBody } from '../../../../local/firehose/object-body.ts';

const records = Array.from({ length: 5_000 }, (_, i) => `{"i":${i},"text":"é ✓ ${'x'.repeat(i % 50)}"}\n`);
const expected = records.join('');

describe('ObjectBody', () => {
  it('gzips the records in order, chunk by chunk, into one readable object', async () => {
    const body = new ObjectBody('GZIP');
    for (const [i, record] of records.entries()) body.append(i % 2 === 0 ? record : Buffer.from(record));
    const gz = await body.finish();
    expect(gunzipSync(gz).toString('utf8')).toBe(expected);
    expect(body.records).toBe(records.length);
    expect(body.bytes).toBe(Buffer.byteLength(expected));
  });

  it('writes the records as they are when the stream does not compress', async () => {
    const body = new ObjectBody('UNCOMPRESSED');
    for (const record of records) body.append(record);
    expect((await body.finish()).toString('utf8')).toBe(expected);
  });

  it('never counts more bytes than it holds, so the size hint errs late by less than a chunk', () => {
    const body = new ObjectBody('UNCOMPRESSED');
    let bytes = 0;
    for (const record of records) {
      body.append(record);
      bytes += Buffer.byteLength(record);
      expect(body.size).toBeLessThanOrEqual(bytes);
      expect(bytes - body.size).toBeLessThan(64 * 1024);
    }
  });
});
