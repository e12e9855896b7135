import { describe, expect, it } from 'vitest';
import { flights } from '../../../../../functions/lib/features/flights.ts';
import { featureSets, getFeatureSet } from '../../../../../functions/lib/features/index.ts';

describe('feature set registry', () => {
  it('finds flights-v1 by name', () => {
    expect(getFeatureSet('flights-v1')).toBe(flights);
  });

  it('returns undefined for unknown names, including Object.prototype members', () => {
    for (const name of ['flights-v0', '', 'toString', '__proto__', 'constructor']) {
      expect(getFeatureSet(name)).toBeUndefined();
    }
  });

  it('registers every set under its own name', () => {
    for (const [name, featureSet] of Object.entries(featureSets)) expect(featureSet.name).toBe(name);
  });
});
