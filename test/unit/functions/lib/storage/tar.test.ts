// The tar reader and writer, against each other and against archives made by the system's GNU
// tar the way a training container packs /opt/ml/model (./ prefixes, long names, pax headers).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, writeTar } from '../../../../../functions/lib/storage/tar.ts';

/** Bytes 0…255 repeated: binary content with every byte value, NULs included. */
const binary = (length: number) => Uint8Array.from({ length }, (_, i) => i % 256);

const LONG_DIR = `${'nested-directory-'.repeat(4)}x`;
const LONG_NAME = `${LONG_DIR}/${'a-file-whose-name-alone-is-long-'.repeat(2)}.json`;

/** The files of a model directory, as a training job leaves /opt/ml/model. */
const modelDir = new Map<string, Uint8Array>([
  ['model.onnx', binary(70_000)],
  ['metadata/params.json', Buffer.from('{"l2":0.5}\n')],
  ['empty.txt', new Uint8Array(0)],
  ['exactly-one-block.bin', binary(512)],
]);

let work: string;

/** Write `files` under a fresh directory and pack it with the system tar; returns the archive. */
function systemTar(name: string, files: ReadonlyMap<string, Uint8Array>, tarArgs: string[]): Uint8Array {
  const dir = join(work, name);
  for (const [path, body] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  const archive = join(work, `${name}.tar`);
  execFileSync('tar', [...tarArgs, '-cf', archive, '-C', dir, '.']);
  return readFileSync(archive);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tar-test-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('writeTar and readTar', () => {
  it('give back the files written, byte for byte', () => {
    // Act
    const files = readTar(writeTar(modelDir));

    // Assess
    expect([...files.keys()].sort()).toEqual([...modelDir.keys()].sort());
    for (const [name, body] of modelDir)
      expect(Buffer.compare(files.get(name) ?? new Uint8Array(1), body), name).toBe(0);
  });

  it('writes the same bytes for the same files, in 512-byte blocks', () => {
    // Act
    const first = writeTar(modelDir);
    const second = writeTar(new Map(modelDir));

    // Assess
    expect(Buffer.compare(first, second)).toBe(0);
    expect(first.length % 512).toBe(0);
  });

  it('writes an archive the system tar lists and extracts unchanged', () => {
    // Prepare
    const archive = join(work, 'written.tar');
    writeFileSync(archive, writeTar(modelDir));
    const out = join(work, 'extracted');
    mkdirSync(out);

    // Act
    const listed = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' });
    execFileSync('tar', ['-xf', archive, '-C', out]);

    // Assess
    expect(listed.trim().split('\n').sort()).toEqual([...modelDir.keys()].sort());
    for (const [name, body] of modelDir)
      expect(Buffer.compare(readFileSync(join(out, name)), body), name).toBe(0);
  });

  it('fails to write a name longer than the 100 bytes of a ustar header', () => {
    expect(() => writeTar(new Map([[LONG_NAME, new Uint8Array(1)]]))).toThrow(/tar name too long/);
  });
});

describe('readTar on archives made by GNU tar', () => {
  const files = new Map([...modelDir, [LONG_NAME, Buffer.from('{"long":true}')]]);

  it.each([
    ['GNU format (./ prefixes, long name in a ././@LongLink entry)', ['--format=gnu']],
    ['pax format (long name in a pax extended header)', ['--format=pax']],
    ['ustar format (long path split into prefix and name)', ['--format=ustar']],
  ])('reads the regular files of the %s', (label, args) => {
    // Prepare
    const archive = systemTar(label.split(' ')[0] ?? 'tar', files, args);

    // Act
    const read = readTar(archive);

    // Assess: directories are skipped and ./ is gone.
    expect([...read.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [name, body] of files)
      expect(Buffer.compare(read.get(name) ?? new Uint8Array(1), body), name).toBe(0);
  });

  it('reads a gzipped archive once gunzipped, as SageMaker writes model.tar.gz', () => {
    // Prepare
    const dir = join(work, 'gz');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), binary(1000));
    execFileSync('tar', ['-czf', join(work, 'model.tar.gz'), '-C', dir, 'model.onnx']);

    // Act
    const read = readTar(gunzipSync(readFileSync(join(work, 'model.tar.gz'))));

    // Assess
    expect([...read.keys()]).toEqual(['model.onnx']);
  });
});

describe('readTar on damaged input', () => {
  it('fails on an archive cut short inside an entry', () => {
    // Prepare
    const whole = writeTar(new Map([['model.onnx', binary(5000)]]));

    // Act, Assess
    expect(() => readTar(whole.subarray(0, 2048))).toThrow(/model.onnx is truncated/);
  });

  it('fails on a header whose size is not octal', () => {
    // Prepare
    const archive = writeTar(new Map([['model.onnx', binary(10)]]));
    archive.set(Buffer.from('not-a-size!\0'), 124);

    // Act, Assess
    expect(() => readTar(archive)).toThrow(/bad size/);
  });
});
