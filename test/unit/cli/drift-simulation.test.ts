import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FlightRecord, shiftedFlights } from '../../../cli/drift-simulation.ts';

const flights = JSON.parse(
  readFileSync(
    join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'flights-20k.json'),
    'utf8',
  ),
) as FlightRecord[];

const share = (rows: readonly FlightRecord[], test: (r: FlightRecord) => boolean) =>
  rows.filter(test).length / rows.length;
const delayed = (r: FlightRecord) => r.delay > 15;
const longHaul = (r: FlightRecord) => r.distance > 1000;

describe('shiftedFlights', () => {
  it('draws like the data when nothing shifts', () => {
    const drawn = shiftedFlights(flights, 'none', 5_000, 1);
    expect(share(drawn, longHaul)).toBeCloseTo(share(flights, longHaul), 1);
    expect(share(drawn, delayed)).toBeCloseTo(share(flights, delayed), 1);
  });

  it('shifts the inputs for a covariate shift, drawing real flights', () => {
    const drawn = shiftedFlights(flights, 'covariate', 5_000, 1);
    expect(share(drawn, longHaul)).toBeGreaterThan(share(flights, longHaul) + 0.2);
    expect(drawn.every((row) => flights.includes(row))).toBe(true);
  });

  it('raises the share of delayed flights for a label shift', () => {
    const drawn = shiftedFlights(flights, 'label', 5_000, 1);
    expect(share(drawn, delayed)).toBeGreaterThan(share(flights, delayed) + 0.2);
  });

  it('keeps the inputs and rewrites the outcome for a concept shift', () => {
    const drawn = shiftedFlights(flights, 'concept', 5_000, 1);
    expect(share(drawn, longHaul)).toBeCloseTo(share(flights, longHaul), 1);
    const morning = drawn.filter((r) => / 0[6-9]:| 1[01]:/.test(r.date));
    expect(share(morning, delayed)).toBeGreaterThan(0.6);
  });

  it('gives the same rows for the same seed', () => {
    expect(shiftedFlights(flights, 'label', 100, 7)).toEqual(shiftedFlights(flights, 'label', 100, 7));
  });
});
