// EventBridge content filtering as the local router evaluates it, case by case.
import { describe, expect, it } from 'vitest';
import { matchesPattern, patternProblems } from '../../../../local/events/event-pattern.ts';

const s3Event = {
  source: 'aws.s3',
  'detail-type': 'Object Created',
  resources: ['arn:aws:s3:::data'],
  detail: {
    bucket: { name: 'data' },
    object: { key: 'incoming/flights/2024-01.csv', size: 2048, etag: 'abc' },
    reason: 'PutObject',
    'source-ip-address': '10.0.1.7',
    tags: ['a', 'b'],
    nothing: null,
  },
};

describe('matchesPattern', () => {
  it.each([
    ['exact values', { source: ['aws.s3'] }, true],
    ['an array as OR', { source: ['aws.ec2', 'aws.s3'] }, true],
    ['no value of the array', { source: ['aws.ec2'] }, false],
    ['nested objects', { detail: { bucket: { name: ['data'] } } }, true],
    ['a nested mismatch', { detail: { bucket: { name: ['other'] } } }, false],
    [
      'the batch-scoring rule',
      {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: ['data'] }, object: { key: [{ prefix: 'incoming/' }] } },
      },
      true,
    ],
    ['prefix', { detail: { object: { key: [{ prefix: 'incoming/' }] } } }, true],
    ['a prefix that differs', { detail: { object: { key: [{ prefix: 'scores/' }] } } }, false],
    [
      'prefix ignoring case',
      { detail: { object: { key: [{ prefix: { 'equals-ignore-case': 'INCOMING/' } }] } } },
      true,
    ],
    ['suffix', { detail: { object: { key: [{ suffix: '.csv' }] } } }, true],
    ['a suffix that differs', { detail: { object: { key: [{ suffix: '.jsonl' }] } } }, false],
    ['equals-ignore-case', { detail: { reason: [{ 'equals-ignore-case': 'putobject' }] } }, true],
    ['wildcard', { detail: { object: { key: [{ wildcard: 'incoming/*/*.csv' }] } } }, true],
    ['a wildcard that differs', { detail: { object: { key: [{ wildcard: 'incoming/*.jsonl' }] } } }, false],
    ['exists true', { detail: { object: { etag: [{ exists: true }] } } }, true],
    ['exists true on a missing field', { detail: { object: { 'version-id': [{ exists: true }] } } }, false],
    ['exists false on a missing field', { detail: { object: { 'version-id': [{ exists: false }] } } }, true],
    ['exists false on a present field', { detail: { object: { etag: [{ exists: false }] } } }, false],
    ['exists on an object (not a leaf)', { detail: { object: [{ exists: true }] } }, false],
    ['a null value', { detail: { nothing: [null] } }, true],
    ['anything-but a value', { detail: { reason: [{ 'anything-but': 'CopyObject' }] } }, true],
    [
      'anything-but the value',
      { detail: { reason: [{ 'anything-but': ['PutObject', 'CopyObject'] }] } },
      false,
    ],
    [
      'anything-but a prefix',
      { detail: { object: { key: [{ 'anything-but': { prefix: 'scores/' } }] } } },
      true,
    ],
    [
      'anything-but its prefix',
      { detail: { object: { key: [{ 'anything-but': { prefix: 'incoming/' } }] } } },
      false,
    ],
    ['anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    ['numeric in range', { detail: { object: { size: [{ numeric: ['>', 1024, '<=', 2048] }] } } }, true],
    ['numeric out of range', { detail: { object: { size: [{ numeric: ['<', 1024] }] } } }, false],
    ['numeric equal', { detail: { object: { size: [{ numeric: ['=', 2048] }] } } }, true],
    ['numeric on a string', { detail: { reason: [{ numeric: ['>', 0] }] } }, false],
    ['a number against a string literal', { detail: { object: { size: ['2048'] } } }, false],
    ['cidr', { detail: { 'source-ip-address': [{ cidr: '10.0.0.0/16' }] } }, true],
    ['another cidr', { detail: { 'source-ip-address': [{ cidr: '10.1.0.0/16' }] } }, false],
    ['an event array (any element)', { detail: { tags: ['b'] } }, true],
    ['an event array with no such element', { detail: { tags: ['c'] } }, false],
    [
      '$or with one alternative matching',
      {
        source: ['aws.s3'],
        $or: [
          { detail: { reason: ['CopyObject'] } },
          { detail: { object: { size: [{ numeric: ['>', 0] }] } } },
        ],
      },
      true,
    ],
    [
      '$or with none matching',
      {
        $or: [{ detail: { reason: ['CopyObject'] } }, { source: ['aws.ec2'] }],
      },
      false,
    ],
    ['a field the event lacks', { account: ['000000000000'] }, false],
  ])('%s → %s', (_, pattern, expected) => {
    expect(patternProblems(pattern)).toEqual([]);
    expect(matchesPattern(pattern, s3Event)).toBe(expected);
  });
});

describe('patternProblems', () => {
  it.each([
    ['an unknown operator', { detail: { key: [{ regex: '^a' }] } }, 'detail.key: unknown operator "regex"'],
    [
      'two operators in one matcher',
      { source: [{ prefix: 'a', suffix: 'b' }] },
      'source: a matcher object holds one operator, got {"prefix":"a","suffix":"b"}',
    ],
    [
      'a bare value',
      { source: 'aws.s3' },
      'source: a pattern value must be an array or an object, not "aws.s3"',
    ],
    ['an empty array', { source: [] }, 'source: an empty array matches nothing'],
    [
      'a malformed numeric',
      { size: [{ numeric: ['>>', 1] }] },
      'size: numeric: [">>",1] is not an [operator, number] pair',
    ],
    [
      'an IPv6 cidr',
      { ip: [{ cidr: '2001:db8::/32' }] },
      'ip: cidr "2001:db8::/32" is not an IPv4 CIDR block (IPv6 is not emulated locally)',
    ],
    [
      'an anything-but it cannot evaluate',
      { a: [{ 'anything-but': { numeric: ['>', 1] } }] },
      'a: anything-but {"numeric":[">",1]} is not emulated locally',
    ],
  ])('reports %s', (_, pattern, problem) => {
    expect(patternProblems(pattern)).toEqual([problem]);
  });

  it('reports a pattern that is not an object', () => {
    expect(patternProblems(['aws.s3'])).toEqual(['the pattern is not a JSON object']);
  });
});
