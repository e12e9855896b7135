// Test fixture: a real flights-v1 ONNX artifact trained on a slice of flights-20k, and the slice
// as the raw rows a dataset file holds, for tests of the predict and train functions.
import { createHash } from 'node:crypto';
import { type FlightEncoding, type FlightInstance, flights } from '../../functions/lib/features/flights.ts';
import { trainClassifier } from '../../functions/lib/training/train-classifier.ts';
import { loadFlights } from './flights-dataset.ts';

/** A trained artifact with what a registry records about it and what serving rebuilds from it. */
export interface TrainedFlightModel {
  /** The ONNX artifact, as training wrote it. */
  readonly bytes: Uint8Array;
  /** Hex sha256 of `bytes`, as the registry records it. */
  readonly sha256: string;
  /** The encoding training fitted (also stored in the artifact's metadata). */
  readonly encoding: FlightEncoding;
  readonly featureNames: readonly string[];
}

/** A raw training row: an instance plus the `delay` its label is derived from. */
export type FlightRow = FlightInstance & { readonly delay: number };

const models = new Map<number, TrainedFlightModel>();

/** sha256 of bytes or text, hex, as the platform records digests. */
export const sha256Hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/**
 * Train flights-v1 on the first `rows` flights (default 4,000: enough for common-airport columns,
 * fast enough for a unit test). Cached per size: training is deterministic, so one fit serves a file.
 */
export function trainFlightModel(rows = 4_000): TrainedFlightModel {
  const hit = models.get(rows);
  if (hit) return hit;
  const { instances, labels } = loadFlights();
  const result = trainClassifier({
    rows: instances.slice(0, rows),
    labels: labels.slice(0, rows),
    featureSet: flights,
    modelName: 'fixture',
  });
  const model: TrainedFlightModel = {
    bytes: result.modelBytes,
    sha256: sha256Hex(result.modelBytes),
    encoding: result.encoding as FlightEncoding,
    featureNames: result.featureNames,
  };
  models.set(rows, model);
  return model;
}

/**
 * `count` flights starting at `offset`, shaped like a dataset file's rows. flights-20k's delays
 * only matter through the 15-minute label, so each row carries a delay on the right side of it.
 */
export function flightRows(count: number, offset = 0): FlightRow[] {
  const { instances, labels } = loadFlights();
  return instances.slice(offset, offset + count).map((instance, i) => ({
    ...instance,
    delay: labels[offset + i] === 1 ? 45 : 0,
  }));
}
