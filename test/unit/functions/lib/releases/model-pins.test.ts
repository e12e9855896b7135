// MODEL_VERSION_PINS: how a function version's pins are read, and the environment of a version
// pinned to one model version derived from another's.
import { describe, expect, it } from 'vitest';
import { pinModel, readPins, sortedPins } from '../../../../../functions/lib/releases/model-pins.ts';

describe('readPins', () => {
  it('reads pins, and none when the variable is unset or empty', () => {
    expect(readPins({ MODEL_VERSION_PINS: '{"m":3}' }, 'fn:3')).toEqual({ m: 3 });
    expect(readPins({}, 'fn:3')).toEqual({});
    expect(readPins({ MODEL_VERSION_PINS: ' ' }, 'fn:3')).toEqual({});
    expect(readPins(undefined, 'fn:3')).toEqual({});
  });

  it('fails naming the version when the variable is not a pin map', () => {
    expect(() => readPins({ MODEL_VERSION_PINS: '{"m":"x"}' }, 'fn:3')).toThrow(
      expect.objectContaining({
        name: 'ReleaseRefused',
        message: 'fn:3: MODEL_VERSION_PINS is not {"model": version}: {"m":"x"}',
      }),
    );
    expect(() => readPins({ MODEL_VERSION_PINS: '{' }, 'fn:3')).toThrow(
      'fn:3: MODEL_VERSION_PINS is not valid JSON: {',
    );
  });
});

describe('pinModel', () => {
  it("sets one model's pin, keeps the others' and the rest of the environment, in model order", () => {
    const pinned = pinModel(
      { REGISTRY_TABLE: 'registry', MODEL_VERSION_PINS: '{"zeta":4,"flight-delay":1}' },
      'flight-delay',
      2,
      'fn:4',
    );

    expect(pinned.pins).toEqual({ 'flight-delay': 2, zeta: 4 });
    expect(pinned.environment).toEqual({
      REGISTRY_TABLE: 'registry',
      MODEL_VERSION_PINS: '{"flight-delay":2,"zeta":4}',
    });
  });

  it('pins the first model of an unpinned version', () => {
    expect(pinModel({ A: 'b' }, 'm', 7, 'fn:1').environment).toEqual({
      A: 'b',
      MODEL_VERSION_PINS: '{"m":7}',
    });
  });

  it('orders pins by model name', () => {
    expect(Object.keys(sortedPins({ b: 1, a: 2 }))).toEqual(['a', 'b']);
  });
});
