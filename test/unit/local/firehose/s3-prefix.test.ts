import { describe, expect, it } from 'vitest';
import { CAPTURE_S3_PREFIX } from '../../../../functions/lib/capture/capture-record.ts';
import { capturePartitionPrefix } from '../../../../functions/lib/storage/s3-layout.ts';
import {
  compilePrefix,
  compileTimestamp,
  objectNamer,
  PrefixUnsupported,
} from '../../../../local/firehose/s3-prefix.ts';

const time = new Date('2026-11-27T07:05:09.042Z');

describe('compilePrefix', () => {
  it('renders the capture prefix to the layout capturePartitionPrefix gives', () => {
    const prefix = compilePrefix(CAPTURE_S3_PREFIX);
    expect(prefix.partitionKeys).toEqual(['model', 'dt', 'hour']);
    const rendered = prefix.render({
      arrival: new Date(),
      partitionKeys: { model: 'flights', dt: '2026-11-27', hour: '07' },
    });
    expect(rendered).toBe(capturePartitionPrefix('flights', time));
  });

  it('renders timestamps of the oldest record and the error output type', () => {
    const prefix = compilePrefix('capture-errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/');
    expect(prefix.usesErrorOutputType).toBe(true);
    expect(prefix.render({ arrival: time, errorOutputType: 'partitioning-failed' })).toBe(
      'capture-errors/partitioning-failed/dt=2026-11-27/',
    );
  });

  it('renders a fresh random string of 11 characters per object', () => {
    const prefix = compilePrefix('p/!{firehose:random-string}/');
    const a = prefix.render({ arrival: time });
    expect(a).toMatch(/^p\/[0-9a-zA-Z]{11}\/$/);
    expect(prefix.render({ arrival: time })).not.toBe(a);
  });

  it('refuses what Firehose refuses or what needs Lambda', () => {
    expect(() => compilePrefix('k=!{partitionKeyFromLambda:k}/')).toThrow(PrefixUnsupported);
    expect(() => compilePrefix('!{unknown:x}/')).toThrow(/unknown expression/);
    expect(() => compilePrefix('a/!{timestamp/')).toThrow(/malformed/);
    expect(() => compilePrefix('!{timestamp:EEE}/')).toThrow(/not supported locally/);
  });
});

describe('compileTimestamp', () => {
  it('formats Java DateTimeFormatter patterns with quoted literals', () => {
    expect(compileTimestamp("'year='yyyy/'month='MM/dd/HH-mm-ss.SSS")(time)).toBe(
      'year=2026/month=11/27/07-05-09.042',
    );
    expect(compileTimestamp('yy-M-d H')(time)).toBe('26-11-27 7');
  });

  it('formats in the stream time zone', () => {
    expect(compileTimestamp('yyyy-MM-dd HH:mm', 'Asia/Tokyo')(time)).toBe('2026-11-27 16:05');
    expect(() => compileTimestamp('yyyy', 'Mars/Olympus')).toThrow(/unknown time zone/);
  });
});

describe('objectNamer', () => {
  it('names objects like Firehose: stream, version, time, uuid, extension', () => {
    const name = objectNamer({ streamName: 'capture', streamVersion: 1, extension: '.gz' })(time);
    expect(name).toMatch(/^capture-1-2026-11-27-07-05-09-[0-9a-f-]{36}\.gz$/);
  });
});
