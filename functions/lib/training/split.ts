// Deterministic train/test split: a row's side depends only on its index and the seed, so a
// retried training run holds out exactly the same rows.

/** Row indices on each side of the split, ascending. */
export interface TrainTestSplit {
  readonly train: Uint32Array;
  readonly test: Uint32Array;
}

export interface SplitOptions {
  /** Expected share of rows held out for testing. @default 0.2 */
  readonly testFraction?: number;
  /** Different seeds give independent splits. @default 0 */
  readonly seed?: number;
}

/** Uniform value in [0, 1) from (index, seed): murmur3's 32-bit finaliser over a mix of both. */
function uniformHash(index: number, seed: number): number {
  const seed32 = seed ^ Math.floor(seed / 2 ** 32); // fold the high bits in: seeds 1 and 2³² + 1 differ
  let h = Math.imul(index, 0x9e3779b1) ^ Math.imul(seed32 ^ 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** Assign each of `rowCount` rows to train or test; the test side gets about `testFraction` of them. */
export function splitTrainTest(rowCount: number, options: SplitOptions = {}): TrainTestSplit {
  const { testFraction = 0.2, seed = 0 } = options;
  if (!(Number.isInteger(rowCount) && rowCount >= 0)) {
    throw new RangeError(`rowCount must be ≥ 0, got ${rowCount}`);
  }
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < rowCount; i++) (uniformHash(i, seed) < testFraction ? test : train).push(i);
  return { train: Uint32Array.from(train), test: Uint32Array.from(test) };
}
