import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { CAPTURE_FILTER_PATTERN } from '../../../../functions/lib/capture/capture-record.ts';
import { compileFilterPattern, FilterPatternUnsupported } from '../../../../local/logs/filter-pattern.ts';

const line = (event: unknown) => JSON.stringify(event);
const capture = line({
  kind: 'inference-capture',
  model: 'flights',
  latencyMs: 12.5,
  ok: true,
  tags: ['a', 'b'],
});

describe('JSON filter patterns', () => {
  it('selects capture records and nothing else with the capture pattern', () => {
    const pattern = compileFilterPattern(CAPTURE_FILTER_PATTERN);
    expect(pattern.matches(capture)).toBe(true);
    expect(pattern.matches(line({ kind: 'metric', model: 'inference-capture' }))).toBe(false);
    expect(pattern.matches('inference-capture is not JSON')).toBe(false);
    expect(pattern.matches(line([{ kind: 'inference-capture' }]))).toBe(false);
    expect(pattern.marker).toBe('inference-capture');
  });

  it('hands over the event it parsed when it matches, so the JSON is parsed once', () => {
    const pattern = compileFilterPattern(CAPTURE_FILTER_PATTERN);
    expect(pattern.matchEvent(capture)).toEqual(JSON.parse(capture));
    expect(pattern.matchEvent(line({ kind: 'metric' }))).toBe(false);
    expect(pattern.matchEvent('inference-capture is not JSON')).toBe(false);
    // Term patterns parse nothing: a match is just true.
    expect(compileFilterPattern('ERROR -timeout').matchEvent('ERROR: disk full')).toBe(true);
    expect(compileFilterPattern('ERROR -timeout').matchEvent('ERROR: timeout')).toBe(false);
    expect(compileFilterPattern('').matchEvent('anything')).toBe(true);
  });

  it('compares strings with = and != and * wildcards, and numbers with every operator', () => {
    const cases: Array<[string, boolean]> = [
      ['{ $.model = "fl*" }', true],
      ['{ $.model = *ights }', true],
      ['{ $.model != "flights" }', false],
      ['{ $.model != "other" }', true],
      ['{ $.absent != "other" }', false],
      ['{ $.latencyMs > 12 }', true],
      ['{ $.latencyMs >= 12.5 }', true],
      ['{ $.latencyMs < 12.5 }', false],
      ['{ $.latencyMs <= 1.25e1 }', true],
      ['{ $.latencyMs = 12.5 }', true],
      ['{ $.latencyMs != 12.5 }', false],
      ['{ $.model > 1 }', false],
      ['{ $.tags[1] = "b" }', true],
      ['{ $.tags[2] = "*" }', false],
      ['{ $.model = "*" }', true],
    ];
    for (const [source, expected] of cases)
      expect(compileFilterPattern(source).matches(capture), source).toBe(expected);
  });

  it('combines with && and || and parentheses', () => {
    expect(
      compileFilterPattern('{ $.kind = "inference-capture" && $.latencyMs > 100 }').matches(capture),
    ).toBe(false);
    expect(compileFilterPattern('{ $.kind = "x" || $.latencyMs > 10 }').matches(capture)).toBe(true);
    expect(
      compileFilterPattern('{ ($.kind = "x" || $.model = "flights") && ($.ok IS TRUE) }').matches(capture),
    ).toBe(true);
  });

  it('tests booleans, null and absent fields', () => {
    const event = line({ ok: false, gone: null });
    expect(compileFilterPattern('{ $.ok IS FALSE }').matches(event)).toBe(true);
    expect(compileFilterPattern('{ $.ok IS TRUE }').matches(event)).toBe(false);
    expect(compileFilterPattern('{ $.gone IS NULL }').matches(event)).toBe(true);
    expect(compileFilterPattern('{ $.ok IS NULL }').matches(event)).toBe(false);
    expect(compileFilterPattern('{ $.missing NOT EXISTS }').matches(event)).toBe(true);
    expect(compileFilterPattern('{ $.gone NOT EXISTS }').matches(event)).toBe(false);
  });

  it('runs the patterns CDK FilterPattern renders', () => {
    const all = logs.FilterPattern.all(
      logs.FilterPattern.stringValue('$.kind', '=', 'inference-capture'),
      logs.FilterPattern.any(
        logs.FilterPattern.booleanValue('$.ok', true),
        logs.FilterPattern.numberValue('$.latencyMs', '>', 1000),
      ),
      logs.FilterPattern.exists('$.model'),
      logs.FilterPattern.notExists('$.error'),
    );
    const pattern = compileFilterPattern(all.logPatternString);
    expect(pattern.matches(capture)).toBe(true);
    expect(pattern.matches(line({ kind: 'inference-capture', model: 'm', ok: false, latencyMs: 3 }))).toBe(
      false,
    );
    expect(pattern.marker).toBe('inference-capture');
  });

  it('uses a field name as the marker when no value is certain', () => {
    expect(compileFilterPattern('{ $.latencyMs > 100 }').marker).toBe('"latencyMs"');
    expect(compileFilterPattern('{ $.a = 1 || $.b = 2 }').marker).toBe('');
  });

  it('refuses regular expressions and array wildcards', () => {
    expect(() => compileFilterPattern('{ $.model = %fl.*% }')).toThrow(FilterPatternUnsupported);
    expect(() => compileFilterPattern('{ $.tags[*] = "a" }')).toThrow(FilterPatternUnsupported);
    expect(() => compileFilterPattern('{ $.a > "x" }')).toThrow(/needs a number/);
    expect(() => compileFilterPattern('{ kind = "x" }')).toThrow(/\$ selector/);
    expect(() => compileFilterPattern('{ $.kind = "x" ')).toThrow(/closing brace/);
  });
});

describe('term patterns', () => {
  it('matches all terms, quoted phrases and exclusions, case-sensitively', () => {
    const pattern = compileFilterPattern('ERROR "in MainThread" -Exiting');
    expect(pattern.matches('[ERROR] failure in MainThread')).toBe(true);
    expect(pattern.matches('[ERROR] failure in MainThread; Exiting')).toBe(false);
    expect(pattern.matches('[error] failure in MainThread')).toBe(false);
    expect(pattern.marker).toBe('in MainThread');
  });

  it('matches any of the ? alternatives, as CDK anyTerm and anyTermGroup render them', () => {
    const any = compileFilterPattern(logs.FilterPattern.anyTerm('ERROR', 'WARN').logPatternString);
    expect(any.matches('a WARN line')).toBe(true);
    expect(any.matches('an INFO line')).toBe(false);
    expect(any.marker).toBe('');
    const groups = compileFilterPattern(
      logs.FilterPattern.anyTermGroup(['ERROR', 'MainThread'], ['WARN', 'Deadlock']).logPatternString,
    );
    expect(groups.matches('WARN Deadlock found')).toBe(true);
    expect(groups.matches('ERROR elsewhere')).toBe(false);
  });

  it('matches every event with the empty pattern', () => {
    expect(compileFilterPattern('').matches('anything')).toBe(true);
  });

  it('refuses space-delimited and regular expression patterns', () => {
    expect(() => compileFilterPattern('[ip, user, status=404]')).toThrow(FilterPatternUnsupported);
    expect(() => compileFilterPattern('%ERROR|WARN%')).toThrow(FilterPatternUnsupported);
  });
});
