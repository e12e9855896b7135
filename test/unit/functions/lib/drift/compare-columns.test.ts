import { describe, expect, it } from 'vitest';
import {
  compareColumnsToProfile,
  compareToProfile,
} from '../../../../../functions/lib/drift/drift-report.ts';
import { buildProfile, profilePredictions } from '../../../../../functions/lib/drift/profile.ts';
import { seededNormal, seededRandom } from '../training/seeded-random.ts';

const ORIGINS = ['SFO', 'LAX', 'ORD', 'ATL', 'DEN'];

function traffic(n: number, seed: number, shift = 0) {
  const uniform = seededRandom(seed);
  const normal = seededNormal(uniform);
  const rows = Array.from({ length: n }, () => ({
    distance: 1100 + 600 * (normal() + shift),
    delay: uniform() < 0.05 ? null : 10 + 30 * normal(),
    origin: uniform() < 0.02 ? null : ORIGINS[Math.floor(uniform() ** (1 + shift) * ORIGINS.length)],
    hour: Math.floor(24 * uniform()),
  }));
  const scores = rows.map((r) => 1 / (1 + Math.exp(-(r.distance - 1100) / 600)));
  return { rows, scores };
}

const FIELDS = { distance: 'numeric', delay: 'numeric', origin: 'categorical', hour: 'numeric' } as const;
const reference = traffic(20_000, 1);
const profile = {
  ...buildProfile({ fields: FIELDS, rows: reference.rows }),
  prediction: profilePredictions(reference.scores),
};

/** The same window by column: numbers as Float64Array with NaN for null, categories as they are. */
function columns(rows: ReturnType<typeof traffic>['rows']) {
  return {
    distance: Float64Array.from(rows, (r) => r.distance),
    delay: Float64Array.from(rows, (r) => r.delay ?? Number.NaN),
    origin: rows.map((r) => r.origin),
    // a plain array is read value by value, as a row's value would be
    hour: rows.map((r) => r.hour),
  };
}

describe('compareColumnsToProfile', () => {
  it('gives the same report as compareToProfile on the same values', () => {
    for (const shift of [0, 0.4]) {
      const { rows, scores } = traffic(5_000, 2 + shift * 10, shift);
      const byRows = compareToProfile(profile, { rows, scores });
      const byColumns = compareColumnsToProfile(profile, {
        rows: rows.length,
        columns: columns(rows),
        scores: Float64Array.from(scores),
      });
      expect(JSON.stringify(byColumns)).toBe(JSON.stringify(byRows));
    }
  });

  it('reads a profiled field without a column as null throughout, and ignores unprofiled columns', () => {
    const { rows } = traffic(1_000, 3);
    const { delay: _delay, ...rest } = columns(rows);
    const report = compareColumnsToProfile(profile, {
      rows: rows.length,
      columns: { ...rest, unknown: new Float64Array(rows.length) },
    });
    expect(report.fields.delay).toMatchObject({ values: 0, psi: null, nullRate: { live: 1 } });
    expect(report.fields).not.toHaveProperty('unknown');
    expect(report.prediction).toBeNull();
  });

  it('takes a column only as an own property (a field named like an Object method has none)', () => {
    const odd = buildProfile({
      fields: { constructor: 'numeric' as const },
      rows: [{ constructor: 1 }, { constructor: 2 }],
    });
    const report = compareColumnsToProfile(odd, { rows: 3, columns: {} });
    expect(report.fields.constructor).toMatchObject({ values: 0, rows: 3 });
  });

  it('fails on a column of another length, or a row count that is not a count', () => {
    expect(() =>
      compareColumnsToProfile(profile, { rows: 3, columns: { distance: Float64Array.of(1, 2) } }),
    ).toThrow(/column distance has 2 values for 3 rows/);
    expect(() => compareColumnsToProfile(profile, { rows: 1.5, columns: {} })).toThrow(
      /rows must be a count, got 1.5/,
    );
  });
});
