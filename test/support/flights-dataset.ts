// Test fixture: the real flights-20k dataset from vega-datasets, as validated instances and labels.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type FlightInstance, flightDelayLabel, flights } from '../../functions/lib/features/flights.ts';

interface FlightRow extends FlightInstance {
  readonly delay: number;
}

export interface FlightsDataset {
  readonly instances: readonly FlightInstance[];
  readonly labels: Uint8Array;
}

let cached: FlightsDataset | undefined;

/**
 * The 20,000 flights with `delay` split off as the label, each instance parsed by the feature
 * set's schema as training does. The package's `exports` hides `data/`, so the file is located
 * next to the resolved entry point and read from disk.
 */
export function loadFlights(): FlightsDataset {
  if (cached) return cached;
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  const file = join(dirname(entry), '..', 'data', 'flights-20k.json');
  const rows = JSON.parse(readFileSync(file, 'utf8')) as FlightRow[];
  cached = {
    instances: rows.map(({ delay: _delay, ...instance }) => flights.instanceSchema.parse(instance)),
    labels: Uint8Array.from(rows, flightDelayLabel),
  };
  return cached;
}
