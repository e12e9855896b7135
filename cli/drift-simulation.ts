// Shifted traffic for `mlops drift simulate`: flights drawn from the seed dataset with one kind
// of shift applied, so the drift check, the alarm and the retraining decision can be watched on
// a laptop. Pure and seeded: the same shift and seed give the same rows.

import { parseDepartureTime } from '../functions/lib/features/departure-time.ts';
import { DELAY_THRESHOLD_MINUTES } from '../functions/lib/features/flights.ts';
import { seededRandom } from '../functions/lib/random.ts';

/** A raw flight as the seed dataset has it: the model's inputs and the outcome (`delay`). */
export interface FlightRecord {
  readonly date: string;
  readonly delay: number;
  readonly distance: number;
  readonly origin: string;
  readonly destination: string;
}

export type ShiftKind = 'none' | 'covariate' | 'label' | 'concept';
export const SHIFT_KINDS: readonly ShiftKind[] = ['none', 'covariate', 'label', 'concept'];

/** What each shift does, in the words the CLI prints. */
export const SHIFT_DESCRIPTIONS: Readonly<Record<ShiftKind, string>> = {
  none: 'flights drawn as in training: nothing should drift',
  covariate:
    'P(x) changes, P(y|x) does not: long-haul flights (> 1,000 mi) 5× and the busiest Western hubs 3× as likely',
  label: 'P(y) changes, P(x|y) does not: delayed flights 4× as likely',
  concept:
    'P(y|x) changes, P(x) does not: a new schedule makes weekday departures from 17:00 leave 40 min late and weekend flights on time — invisible to input drift',
};

/** Western hubs the covariate shift favours (all in the seed data). */
const FAVOURED_ORIGINS = new Set(['LAX', 'SFO', 'SEA', 'PHX', 'LAS', 'DEN']);

/** Draw weight of a flight under `shift`; resampling by weight changes P(x) or P(y) only. */
function weightOf(row: FlightRecord, shift: ShiftKind): number {
  switch (shift) {
    case 'covariate':
      return (row.distance > 1000 ? 5 : 1) * (FAVOURED_ORIGINS.has(row.origin) ? 3 : 1);
    case 'label':
      return row.delay > DELAY_THRESHOLD_MINUTES ? 4 : 1;
    default:
      return 1;
  }
}

/**
 * The concept shift: a new schedule changes what delays a flight, in every region alike; the
 * inputs stay as they were.
 */
function withConceptShift(row: FlightRecord): FlightRecord {
  const departure = parseDepartureTime(row.date);
  if (!departure) return row;
  if (departure.weekday >= 5) return { ...row, delay: 0 };
  return departure.hour >= 17 ? { ...row, delay: 40 } : row;
}

/**
 * `count` flights drawn with replacement from `rows`, weighted by the shift (the concept shift
 * draws uniformly and rewrites the outcome). Deterministic for a seed.
 */
export function shiftedFlights(
  rows: readonly FlightRecord[],
  shift: ShiftKind,
  count: number,
  seed: number,
): FlightRecord[] {
  if (rows.length === 0) throw new Error('no flights to draw from');
  if (!(Number.isInteger(count) && count > 0))
    throw new RangeError(`count must be a positive integer, got ${count}`);
  const random = seededRandom(seed);
  const cumulative = new Float64Array(rows.length);
  let total = 0;
  rows.forEach((row, i) => {
    total += weightOf(row, shift);
    cumulative[i] = total;
  });
  const drawn: FlightRecord[] = [];
  for (let k = 0; k < count; k++) {
    const target = random() * total;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] ?? 0) <= target) lo = mid + 1;
      else hi = mid;
    }
    const row = rows[lo] as FlightRecord;
    drawn.push(shift === 'concept' ? withConceptShift(row) : row);
  }
  return drawn;
}

/**
 * `count` distinct flights of `rows` drawn without replacement, weighted by the shift
 * (Efraimidis–Spirakis: the largest u^(1/w)), the concept shift applied: labelled data as a
 * data team would drop it, each flight once.
 */
export function distinctShiftedFlights(
  rows: readonly FlightRecord[],
  shift: ShiftKind,
  count: number,
  seed: number,
): FlightRecord[] {
  if (!(Number.isInteger(count) && count > 0 && count <= rows.length))
    throw new RangeError(`count must be an integer in 1..${rows.length}, got ${count}`);
  const random = seededRandom(seed);
  const keyed = rows.map((row, i) => ({ i, key: random() ** (1 / weightOf(row, shift)) }));
  keyed.sort((a, b) => b.key - a.key);
  return keyed.slice(0, count).map(({ i }) => {
    const row = rows[i] as FlightRecord;
    return shift === 'concept' ? withConceptShift(row) : row;
  });
}

/** The model's inputs of a flight: everything but the outcome. */
export function instanceOf({ delay: _delay, ...instance }: FlightRecord): Omit<FlightRecord, 'delay'> {
  return instance;
}
