import { describe, expect, it } from 'vitest';
import { CAPTURE_PARTITION_QUERY } from '../../../../functions/lib/capture/capture-record.ts';
import { compileJq, JqError, JqUnsupported } from '../../../../local/firehose/jq.ts';

describe('compileJq', () => {
  it('gives the capture partition keys from a capture record', () => {
    const query = compileJq(CAPTURE_PARTITION_QUERY);
    expect(query.evaluate({ model: 'flights', time: '2026-11-27T07:59:59.999Z', score: 0.3 })).toEqual({
      model: 'flights',
      dt: '2026-11-27',
      hour: '07',
    });
  });

  it('gives null for absent fields and slices of null, as jq does', () => {
    expect(compileJq(CAPTURE_PARTITION_QUERY).evaluate({})).toEqual({ model: null, dt: null, hour: null });
  });

  it('walks nested fields, quoted keys, indexes and slices', () => {
    const input = { a: { 'b c': [10, 20, 30] }, s: 'héllo', list: ['x', 'y', 'z'] };
    expect(compileJq('.a."b c"[1]').evaluate(input)).toBe(20);
    expect(compileJq('.a["b c"][-1]').evaluate(input)).toBe(30);
    expect(compileJq('.list[1:]').evaluate(input)).toEqual(['y', 'z']);
    expect(compileJq('.s[:2]').evaluate(input)).toBe('hé');
    expect(compileJq('.a | .["b c"] | .[0]').evaluate(input)).toBe(10);
    expect(compileJq('.[0]').evaluate([5, 6])).toBe(5);
  });

  it('builds objects with name, string and shorthand keys, literals and builtins', () => {
    const query = compileJq(
      '{model, "the version": .v | tostring, kind: "capture", up: .m | ascii_upcase, n: .l | length}',
    );
    expect(query.evaluate({ model: 'm1', v: 3, m: 'ab', l: [1, 2] })).toEqual({
      model: 'm1',
      'the version': '3',
      kind: 'capture',
      up: 'AB',
      n: 2,
    });
  });

  it('fails a record the way jq fails on it', () => {
    expect(() => compileJq('.a.b').evaluate({ a: 5 })).toThrow(JqError);
    expect(() => compileJq('.a.b').evaluate({ a: 5 })).toThrow('Cannot index number with "b"');
    expect(() => compileJq('.[0]').evaluate({ a: 1 })).toThrow('Cannot index object with number');
    expect(() => compileJq('.t[0:2]').evaluate({ t: 12 })).toThrow('Cannot index number with object');
    expect(() => compileJq('.n | ascii_downcase').evaluate({ n: 1 })).toThrow(JqError);
  });

  it('refuses jq outside the local subset when compiling', () => {
    for (const query of [
      '.time | strftime("%Y")',
      '.a + .b',
      '.items[]',
      '.a // "x"',
      '"\\(.a)"',
      '{a: .x',
      'map(.x)',
      '.a?',
    ])
      expect(() => compileJq(query), query).toThrow(JqUnsupported);
  });
});
