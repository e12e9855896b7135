import { describe, expect, it } from 'vitest';
import { InvalidRequest, PayloadTooLarge } from '../../../../../functions/lib/errors.ts';
import { PREDICT_LIMITS, parsePredictRequest } from '../../../../../functions/lib/schemas/predict-request.ts';

const row = { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' };

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidRequest) return err.issues.map((i) => i.path);
    throw err;
  }
  throw new Error('expected InvalidRequest');
}

describe('parsePredictRequest', () => {
  it('accepts instances', () => {
    expect(parsePredictRequest('flight-delay', JSON.stringify({ instances: [row] }))).toEqual({
      model: 'flight-delay',
      kind: 'instances',
      instances: [row],
    });
  });

  it('accepts an entity id', () => {
    expect(parsePredictRequest('m', '{"entityId":"e-1"}')).toEqual({
      model: 'm',
      kind: 'entity',
      entityId: 'e-1',
    });
  });

  it('rejects an empty body', () => {
    expect(() => parsePredictRequest('m', '')).toThrow(InvalidRequest);
    expect(() => parsePredictRequest('m', null)).toThrow(/empty/);
  });

  it('rejects non-JSON with the parser message', () => {
    expect(() => parsePredictRequest('m', '{"instances": [')).toThrow(/not valid JSON/);
  });

  it('names the path of an unknown top-level field', () => {
    expect(issuesOf(() => parsePredictRequest('m', JSON.stringify({ instances: [row], extra: 1 })))).toEqual([
      'extra',
    ]);
  });

  it('names the path when instances is not an array', () => {
    expect(issuesOf(() => parsePredictRequest('m', '{"instances": 5}'))).toEqual(['instances']);
  });

  it('names the index of a non-object instance', () => {
    expect(issuesOf(() => parsePredictRequest('m', '{"instances": [{}, 3]}'))).toEqual(['instances.1']);
  });

  it('rejects both or neither of instances and entityId', () => {
    expect(() => parsePredictRequest('m', '{}')).toThrow(InvalidRequest);
    expect(() => parsePredictRequest('m', JSON.stringify({ instances: [row], entityId: 'x' }))).toThrow(
      InvalidRequest,
    );
  });

  it('rejects an empty instances array', () => {
    expect(issuesOf(() => parsePredictRequest('m', '{"instances": []}'))).toEqual(['instances']);
  });

  it('rejects a bad model name as a field of the path', () => {
    expect(issuesOf(() => parsePredictRequest('Bad Name!', '{"instances":[{}]}'))).toEqual(['model']);
  });

  it('answers 413 for too many instances', () => {
    const body = JSON.stringify({
      instances: Array.from({ length: PREDICT_LIMITS.maxInstances + 1 }, () => ({})),
    });
    expect(() => parsePredictRequest('m', body)).toThrow(PayloadTooLarge);
  });

  it('answers 413 for a body over the byte limit', () => {
    const body = JSON.stringify({ instances: [{ pad: 'x'.repeat(PREDICT_LIMITS.maxBodyBytes) }] });
    expect(() => parsePredictRequest('m', body)).toThrow(PayloadTooLarge);
  });
});
