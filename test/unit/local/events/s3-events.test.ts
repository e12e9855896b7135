// The EventBridge event S3 sends for a created object, made from an s3rver event.
import { describe, expect, it } from 'vitest';
import type { S3ObjectEvent } from '../../../../local/emulators/s3.ts';
import { isObjectCreated, objectCreatedEvent } from '../../../../local/events/s3-events.ts';

const put: S3ObjectEvent = {
  eventName: 'ObjectCreated:Put',
  bucket: 'mlopsstack-data',
  key: 'incoming/flights/jan 2024.csv',
  size: 5,
  etag: 'b1946ac92492d2347c6235b4d2611184',
  sequencer: '018C2D4E5F6A0001',
  eventTime: '2024-01-12T08:30:15.123Z',
};

describe('objectCreatedEvent', () => {
  it('has the shape S3 sends to EventBridge', () => {
    const event = objectCreatedEvent(put, '17793124-05d4-b198-2fde-7ededc63b103');

    expect(event).toEqual({
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: '2024-01-12T08:30:15Z',
      region: 'us-east-1',
      resources: ['arn:aws:s3:::mlopsstack-data'],
      detail: {
        version: '0',
        bucket: { name: 'mlopsstack-data' },
        object: {
          key: 'incoming/flights/jan 2024.csv',
          size: 5,
          etag: 'b1946ac92492d2347c6235b4d2611184',
          sequencer: '018C2D4E5F6A0001',
        },
        'request-id': expect.stringMatching(/^[0-9A-F]{16}$/),
        requester: '000000000000',
        'source-ip-address': '127.0.0.1',
        reason: 'PutObject',
      },
    });
  });

  it.each([
    ['ObjectCreated:Copy', 'CopyObject'],
    ['ObjectCreated:Post', 'CompleteMultipartUpload'],
  ] as const)('names %s as %s', (eventName, reason) => {
    expect(objectCreatedEvent({ ...put, eventName }).detail).toMatchObject({ reason });
  });

  it('leaves out the size and ETag s3rver did not report', () => {
    const { size: _size, etag: _etag, ...copy } = put;

    const event = objectCreatedEvent({ ...copy, eventName: 'ObjectCreated:Copy' });

    expect((event.detail as { object: object }).object).toEqual({
      key: put.key,
      sequencer: put.sequencer,
    });
  });

  it('gives each event its own id', () => {
    expect(objectCreatedEvent(put).id).not.toBe(objectCreatedEvent(put).id);
  });

  it('fails for a delete', () => {
    const deleted: S3ObjectEvent = { ...put, eventName: 'ObjectRemoved:Delete' };
    expect(isObjectCreated(deleted)).toBe(false);
    expect(() => objectCreatedEvent(deleted)).toThrow('ObjectRemoved:Delete is not an object creation');
  });
});
