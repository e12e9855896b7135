// Reads and writes plain (ustar) tar archives, the format SageMaker packs a training job's
// /opt/ml/model into (model.tar.gz). Regular files only: that is all a model directory needs.

const BLOCK = 512;

function field(header: Uint8Array, start: number, length: number): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

/** The regular files of a tar archive, by path (leading `./` removed). */
export function readTar(archive: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`tar entry at byte ${offset} has a bad size`);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const body = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    if (body.length < size) throw new Error(`tar entry ${name} is truncated`);
    longName = undefined;
    if (type === 'L')
      longName = field(body, 0, size); // GNU long name for the next entry
    else if (type === 'x') {
      const path = /\d+ path=([^\n]*)\n/.exec(Buffer.from(body).toString('utf8'))?.[1];
      if (path) longName = path; // pax header naming the next entry
    } else if (type === '0' || type === '\0') files.set(name.replace(/^\.\//, ''), body);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

/** A ustar archive of `files` (names up to 100 bytes), deterministic: fixed mtime, owner and mode. */
export function writeTar(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, body] of files) {
    if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
    const header = new Uint8Array(BLOCK);
    const put = (text: string, start: number) => header.set(Buffer.from(text, 'utf8'), start);
    put(name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put('        ', 148); // checksum is computed with its own field as spaces
    header[156] = '0'.charCodeAt(0);
    put('ustar\0', 257);
    put('00', 263);
    const checksum = header.reduce((sum, b) => sum + b, 0);
    put(`${checksum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(header, body, new Uint8Array((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  return Buffer.concat(parts);
}
