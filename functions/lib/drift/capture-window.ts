// Reads one model version's capture records for a drift window (functions/lib/capture/capture-reader.ts)
// and keeps the profiled fields of each record's input, by column, with its score. Records of
// other versions (a canary's challenger, a shadow) are counted, not used.

import {
  type CaptureObjects,
  type CaptureScanCounts,
  scanCaptureObjects,
} from '../capture/capture-reader.ts';
import type { CaptureRecord } from '../capture/capture-record.ts';
import type { DriftColumns } from './drift-report.ts';
import { categoryValue, type FieldKind, numericValue } from './profile.ts';

export interface CaptureWindowQuery {
  readonly model: string;
  /** Records of other versions are counted in `otherVersions`, not used. */
  readonly version: number;
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
  /** The input fields to keep and how each is read (the profile's fields); others are dropped as records are read. */
  readonly fields: Readonly<Record<string, FieldKind>>;
  /**
   * The values the profile describes, from a record's input: the feature set's monitored values
   * (e.g. `departure_hour` and `weekday` from a flight's `date`), as training profiled them.
   * @default the input as it is
   */
  readonly monitoredValues?: (input: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>;
}

/** What reading the window found, beyond the rows it kept. */
export interface CaptureCounts extends CaptureScanCounts {
  /** Records of this model and version inside the window: the rows compared. */
  readonly used: number;
  /** Records of other versions of the model inside the window, by version. */
  readonly otherVersions: Readonly<Record<string, number>>;
}

export interface CaptureWindow {
  /**
   * The used records' inputs by column, for `compareColumnsToProfile`: a numeric field as a
   * Float64Array (NaN where a record has no finite number), a categorical one as its category
   * text or null; `scores` are the records' scores. Columns, not row objects, so a large window
   * costs 8 bytes a numeric value and a pointer a category (each distinct category held once).
   */
  readonly columns: DriftColumns;
  readonly counts: CaptureCounts;
}

/** A Float64Array that grows by doubling. */
class NumberColumn {
  private data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
  /** The values pushed, as a view of exactly `length`. */
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** One record's values, as a column keeps them. */
type Cell = number | string | null;

/**
 * The capture records of `query.model` version `query.version` made in [start, end), read from
 * every capture partition overlapping the window, as columns of `query.fields` (see
 * CaptureWindow). Deterministic up to the order of rows, which the drift report does not depend
 * on. Errors other than a corrupt gzip object (network, permissions) are thrown.
 */
export async function readCaptureWindow(
  objects: CaptureObjects,
  query: CaptureWindowQuery,
): Promise<CaptureWindow> {
  const fields = Object.entries(query.fields);
  const numeric = new Map<string, NumberColumn>();
  const categorical = new Map<string, Array<string | null>>();
  for (const [name, kind] of fields) {
    if (kind === 'numeric') numeric.set(name, new NumberColumn());
    else categorical.set(name, []);
  }
  const scores = new NumberColumn();
  // Each distinct category text held once, however many rows repeat it.
  const interned = new Map<string, string>();
  const intern = (text: string) => {
    const known = interned.get(text);
    if (known !== undefined) return known;
    interned.set(text, text);
    return text;
  };
  const otherVersions = new Map<number, number>();

  /** A used record's cells, in `fields` order, then its score; a number for another version's. */
  const pick = (record: CaptureRecord): Cell[] | number => {
    if (record.version !== query.version) return record.version;
    const values = query.monitoredValues ? query.monitoredValues(record.input) : record.input;
    const cells: Cell[] = fields.map(([name, kind]) => {
      const value = Object.hasOwn(values, name) ? values[name] : null;
      if (kind === 'numeric') return numericValue(value) ?? Number.NaN;
      const text = categoryValue(value);
      return text === null ? null : intern(text);
    });
    cells.push(record.score);
    return cells;
  };

  const counts = await scanCaptureObjects(objects, query, pick, (picked) => {
    for (const cells of picked) {
      if (typeof cells === 'number') {
        otherVersions.set(cells, (otherVersions.get(cells) ?? 0) + 1);
        continue;
      }
      fields.forEach(([name, kind], i) => {
        const cell = cells[i] ?? null;
        if (kind === 'numeric') numeric.get(name)?.push(cell as number);
        else categorical.get(name)?.push(cell as string | null);
      });
      scores.push(cells[fields.length] as number);
    }
  });

  const columns: Record<string, ArrayLike<unknown>> = {};
  for (const [name] of fields) columns[name] = numeric.get(name)?.values() ?? categorical.get(name) ?? [];
  return {
    columns: { rows: scores.length, columns, scores: scores.values() },
    counts: {
      ...counts,
      used: scores.length,
      otherVersions: Object.fromEntries([...otherVersions].sort(([a], [b]) => a - b).map(([v, n]) => [v, n])),
    },
  };
}
