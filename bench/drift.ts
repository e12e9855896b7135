// `npm run bench -- drift`: the drift check over 1M captured rows × 20 numeric features against
// the same PSI computed by numpy on the same data, in the same run. Both read one Float64
// column-major file; only the computation is timed for the ratio (reading is reported apart),
// and the PSI of every feature must agree to 1e-9. numpy also runs the whole check the way one
// would write it there (PSI, sort-based KS D, mean and std) for a like-for-like second ratio.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compareColumnsToProfile,
  compareToProfile,
  type DriftReport,
  type NumericFieldDrift,
} from '../functions/lib/drift/drift-report.ts';
import { buildProfile, type NumericFieldProfile, type Profile } from '../functions/lib/drift/profile.ts';
import { DEFAULT_PSI_EPSILON } from '../functions/lib/drift/psi.ts';
import { seededRandom } from '../functions/lib/random.ts';

const ROWS = Number(process.env.BENCH_DRIFT_ROWS ?? 1_000_000);
const FEATURES = 20;
const REFERENCE_ROWS = 200_000;
const REPEATS = Number(process.env.BENCH_DRIFT_REPEATS ?? 5);
const TOLERANCE = 1e-9;
const SEED = 2026;

/**
 * Four kinds of feature, cycling: a normal one (1% nulls), a skewed one (log-normal), a discrete
 * one (hours 0–23: ties, values equal to percentiles) and a uniform one (3% nulls). Odd features
 * are shifted in the window, even ones are not.
 */
function featureValue(j: number, shifted: boolean, uniform: () => number, normal: () => number): number {
  switch (j % 4) {
    case 0:
      return uniform() < 0.01 ? Number.NaN : 50 + 10 * (normal() + (shifted ? 0.3 : 0));
    case 1:
      return Math.exp(0.8 * normal()) * (shifted ? 1.3 : 1);
    case 2:
      return (Math.floor(uniform() * 24) + (shifted && uniform() < 0.3 ? 3 : 0)) % 24;
    default:
      return uniform() < 0.03 ? Number.NaN : (shifted ? 100 : 0) + 1000 * uniform();
  }
}

const featureName = (j: number) => `f${String(j).padStart(2, '0')}`;

/** `rows` × FEATURES values, column-major (feature j's rows at j·rows …), seeded. */
function generate(rows: number, seed: number, window: boolean): Float64Array {
  const uniform = seededRandom(seed);
  let spare: number | null = null;
  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  const data = new Float64Array(rows * FEATURES);
  for (let j = 0; j < FEATURES; j++) {
    const shifted = window && j % 2 === 1;
    for (let i = 0; i < rows; i++) data[j * rows + i] = featureValue(j, shifted, uniform, normal);
  }
  return data;
}

function columnsOf(data: Float64Array, rows: number): Record<string, Float64Array> {
  return Object.fromEntries(
    Array.from({ length: FEATURES }, (_, j) => [featureName(j), data.subarray(j * rows, (j + 1) * rows)]),
  );
}

function referenceProfile(): Profile {
  const data = generate(REFERENCE_ROWS, SEED, false);
  const rows = Array.from({ length: REFERENCE_ROWS }, (_, i) => {
    const row: Record<string, number | null> = {};
    for (let j = 0; j < FEATURES; j++) {
      const v = data[j * REFERENCE_ROWS + i] ?? Number.NaN;
      row[featureName(j)] = Number.isNaN(v) ? null : v;
    }
    return row;
  });
  const fields = Object.fromEntries(
    Array.from({ length: FEATURES }, (_, j) => [featureName(j), 'numeric' as const]),
  );
  return buildProfile({ fields, rows });
}

/** Best (lowest) seconds of `repeats` runs of `work`, and its last result. */
function best<T>(repeats: number, work: () => T): { seconds: number; result: T } {
  let seconds = Number.POSITIVE_INFINITY;
  let result: T | undefined;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    result = work();
    seconds = Math.min(seconds, (performance.now() - start) / 1000);
  }
  return { seconds, result: result as T };
}

/** What the numpy side reports. */
interface NumpyResult {
  numpy: string;
  readSeconds: number;
  searchsorted: { seconds: number; psi: number[] };
  histogram: { seconds: number; psi: number[] };
  full: { seconds: number; psi: number[]; ks: number[]; mean: number[]; std: number[] };
}

/**
 * The numpy side: reads the same file, then times (best of `repeats`) the PSI of every feature on
 * the profile's edges with the same semantics (bin i = (eᵢ, eᵢ₊₁], shares clipped to ε, nulls
 * dropped) two ways, and the whole check (PSI, KS D as ks.ts defines it, mean, std).
 */
const NUMPY_SCRIPT = `
import json, sys, time
import numpy as np

data_path, meta_path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
meta = json.load(open(meta_path))
F, N, eps = meta["features"], meta["rows"], meta["epsilon"]
edges = [np.array(e, dtype=np.float64) for e in meta["edges"]]
shares = [np.array(s, dtype=np.float64) for s in meta["shares"]]
quantiles = [np.array(q, dtype=np.float64) for q in meta["quantiles"]]

start = time.perf_counter()
x = np.fromfile(data_path, dtype="<f8").reshape(F, N)
read_seconds = time.perf_counter() - start

def psi_of(counts, n, ref):
    p = np.maximum(ref, eps)
    q = np.maximum(counts / n, eps)
    return float(np.sum((q - p) * np.log(q / p)))

def psi_searchsorted(j):
    v = x[j][np.isfinite(x[j])]
    counts = np.bincount(np.searchsorted(edges[j], v, side="left"), minlength=len(shares[j]))
    return psi_of(counts, v.size, shares[j])

def psi_histogram(j):
    v = x[j][np.isfinite(x[j])]
    # (e_i, e_i+1] on x is [-e_i+1, -e_i) on -x: numpy's half-open bins, mirrored.
    bins = np.concatenate(([-np.inf], -edges[j][::-1], [np.inf]))
    counts = np.histogram(-v, bins=bins)[0][::-1]
    return psi_of(counts, v.size, shares[j])

def reference_cdf(q, points, from_left):
    m = len(q) - 1
    i = np.searchsorted(q, points, side="left" if from_left else "right") - 1
    inner = (i >= 0) & (i < m)
    k = np.clip(i, 0, m - 1)
    lo, hi = q[k], q[np.minimum(k + 1, m)]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (k + (points - lo) / (hi - lo)) / m
    return np.where(inner, f, np.where(i < 0, 0.0, 1.0))

def full_check(j):
    v = x[j][np.isfinite(x[j])]
    n = v.size
    psi = psi_histogram(j)
    s = np.sort(v)
    q = quantiles[j]
    first = np.concatenate(([True], s[1:] != s[:-1]))
    points = np.concatenate((s[first], q))
    at_or_below = np.searchsorted(s, points, side="right") / n
    below = np.searchsorted(s, points, side="left") / n
    d = max(
        float(np.max(np.abs(at_or_below - reference_cdf(q, points, False)))),
        float(np.max(np.abs(below - reference_cdf(q, points, True)))),
    )
    return psi, d, float(np.mean(v)), float(np.std(v))

def timed(work):
    seconds, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = [work(j) for j in range(F)]
        seconds = min(seconds, time.perf_counter() - start)
    return seconds, result

ss_seconds, ss_psi = timed(psi_searchsorted)
h_seconds, h_psi = timed(psi_histogram)
full_seconds, full = timed(full_check)
print(json.dumps({
    "numpy": np.__version__,
    "readSeconds": read_seconds,
    "searchsorted": {"seconds": ss_seconds, "psi": ss_psi},
    "histogram": {"seconds": h_seconds, "psi": h_psi},
    "full": {"seconds": full_seconds, "psi": [r[0] for r in full], "ks": [r[1] for r in full],
             "mean": [r[2] for r in full], "std": [r[3] for r in full]},
}))
`;

function numpyAvailable(): string | null {
  const probe = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

function runNumpy(dir: string, dataFile: string, profile: Profile): NumpyResult {
  const fields = Array.from(
    { length: FEATURES },
    (_, j) => profile.fields[featureName(j)] as NumericFieldProfile,
  );
  const metaFile = join(dir, 'meta.json');
  writeFileSync(
    metaFile,
    JSON.stringify({
      features: FEATURES,
      rows: ROWS,
      epsilon: DEFAULT_PSI_EPSILON,
      edges: fields.map((f) => f.binEdges),
      shares: fields.map((f) => f.binShares),
      quantiles: fields.map((f) => f.quantiles),
    }),
  );
  const scriptFile = join(dir, 'numpy_drift.py');
  writeFileSync(scriptFile, NUMPY_SCRIPT);
  const run = spawnSync('python3', [scriptFile, dataFile, metaFile, String(REPEATS)], {
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
  });
  if (run.status !== 0) throw new Error(`numpy side failed (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as NumpyResult;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (seconds: number) => `${int(ROWS / seconds).padStart(12)} rows/s`;
const secs = (seconds: number) => `${seconds.toFixed(3).padStart(7)} s`;
/** One timing line: what ran, its best time and its throughput, in aligned columns. */
const timing = (what: string, seconds: number) => `${what.padEnd(74)}${secs(seconds)}  ${rate(seconds)}`;

function maxDiff(ours: ReadonlyArray<number | null>, theirs: readonly number[], relative = false): number {
  let worst = 0;
  ours.forEach((a, j) => {
    const b = theirs[j] ?? Number.NaN;
    const diff = Math.abs((a ?? Number.NaN) - b) / (relative ? Math.max(1, Math.abs(b)) : 1);
    worst = Math.max(worst, Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff);
  });
  return worst;
}

/** Generate, write, compare: print (or, with `json`, emit) the figures. Exits non-zero when the PSIs disagree. */
export async function runDriftBench({ json }: { json: boolean }): Promise<void> {
  const say = (line: string) => !json && console.log(line);
  const dir = mkdtempSync(join(tmpdir(), 'mlops-bench-drift-'));
  try {
    say(
      `\ndrift check: ${int(ROWS)} captured rows × ${FEATURES} numeric features (odd ones shifted; normal, log-normal, discrete and uniform kinds, some with nulls) against a profile of ${int(REFERENCE_ROWS)} reference rows; best of ${REPEATS}\n`,
    );
    const profile = referenceProfile();
    const window = generate(ROWS, SEED + 1, true);
    const dataFile = join(dir, 'window.f64');
    writeFileSync(dataFile, window);

    // Ours: the columnar entry point on views of the file's bytes (as the drift Lambda would hold them).
    const ours = best(REPEATS, () =>
      compareColumnsToProfile(profile, { rows: ROWS, columns: columnsOf(window, ROWS) }),
    );
    const endToEnd = best(1, () => {
      const bytes = readFileSync(dataFile);
      const data =
        bytes.byteOffset % 8 === 0
          ? new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8)
          : new Float64Array(new Uint8Array(bytes).buffer);
      return compareColumnsToProfile(profile, { rows: ROWS, columns: columnsOf(data, ROWS) });
    });
    const report: DriftReport = ours.result;
    const fields = Array.from(
      { length: FEATURES },
      (_, j) => report.fields[featureName(j)] as NumericFieldDrift,
    );
    say(timing(`ours   compareColumnsToProfile: PSI, KS D, mean, std, null rate, verdicts`, ours.seconds));

    // The same report from row objects, for reference (building the objects is not timed).
    const rows = Array.from({ length: ROWS }, (_, i) => {
      const row: Record<string, number | null> = {};
      for (let j = 0; j < FEATURES; j++) {
        const v = window[j * ROWS + i] ?? Number.NaN;
        row[featureName(j)] = Number.isNaN(v) ? null : v;
      }
      return row;
    });
    const fromRows = best(1, () => compareToProfile(profile, { rows }));
    const same = JSON.stringify(fromRows.result) === JSON.stringify(report);
    say(
      timing(
        `ours   compareToProfile over row objects (same report: ${same ? 'yes' : 'NO'})`,
        fromRows.seconds,
      ),
    );

    const version = numpyAvailable();
    if (version === null) {
      say('\nnumpy is not importable (python3 -c "import numpy" failed): comparison skipped.');
      if (json)
        console.log(JSON.stringify({ rows: ROWS, features: FEATURES, ours: ours.seconds, numpy: null }));
      return;
    }
    const np = runNumpy(dir, dataFile, profile);
    const psiNumpy = np.searchsorted.seconds <= np.histogram.seconds ? np.searchsorted : np.histogram;
    const fastest = psiNumpy === np.searchsorted ? 'searchsorted + bincount' : 'histogram on −x';
    say(timing(`numpy  PSI only, searchsorted + bincount`, np.searchsorted.seconds));
    say(timing(`numpy  PSI only, histogram on −x`, np.histogram.seconds));
    say(timing(`numpy  PSI, KS D (sort + searchsorted), mean, std`, np.full.seconds));

    const ours0 = fields.map((f) => f.psi);
    const psiDiff = Math.max(
      maxDiff(ours0, np.searchsorted.psi),
      maxDiff(ours0, np.histogram.psi),
      maxDiff(ours0, np.full.psi),
    );
    const ksDiff = maxDiff(
      fields.map((f) => f.ks),
      np.full.ks,
    );
    const meanDiff = maxDiff(
      fields.map((f) => f.mean.live),
      np.full.mean,
      true,
    );
    const stdDiff = maxDiff(
      fields.map((f) => f.std.live),
      np.full.std,
      true,
    );
    const ratio = psiNumpy.seconds / ours.seconds;
    const fullRatio = np.full.seconds / ours.seconds;
    const agree = psiDiff <= TOLERANCE;
    say(
      `\nPSI per feature, ours vs numpy: max |diff| ${psiDiff.toExponential(2)} (tolerance ${TOLERANCE}) ${agree ? 'AGREE' : 'DISAGREE'}`,
    );
    say(
      `KS D max |diff| ${ksDiff.toExponential(2)}; mean and std max relative diff ${Math.max(meanDiff, stdDiff).toExponential(2)}`,
    );
    say(
      `end to end (read the file + compute): ours ${endToEnd.seconds.toFixed(3)} s, numpy ${(np.readSeconds + psiNumpy.seconds).toFixed(3)} s for PSI only (reading ${np.readSeconds.toFixed(3)} s)`,
    );
    say(
      `\nours / numpy speed, our whole check vs numpy's PSI only (${fastest}, its faster way): ${ratio.toFixed(2)}× (goal > 1×: faster than numpy) ${ratio > 1 ? 'MET' : 'NOT MET'}`,
    );
    say(`ours / numpy speed, whole check vs whole check: ${fullRatio.toFixed(2)}×`);
    say(`(numpy ${np.numpy}; both single-threaded; file reading excluded from both ratios)`);
    if (json) {
      console.log(
        JSON.stringify(
          {
            rows: ROWS,
            features: FEATURES,
            repeats: REPEATS,
            ours: {
              seconds: ours.seconds,
              rowsPerSecond: ROWS / ours.seconds,
              endToEndSeconds: endToEnd.seconds,
            },
            oursFromRowObjects: { seconds: fromRows.seconds, sameReport: same },
            numpy: {
              version: np.numpy,
              readSeconds: np.readSeconds,
              psiSearchsortedSeconds: np.searchsorted.seconds,
              psiHistogramSeconds: np.histogram.seconds,
              fullCheckSeconds: np.full.seconds,
            },
            speedRatio: ratio,
            fullCheckSpeedRatio: fullRatio,
            maxPsiDiff: psiDiff,
            maxKsDiff: ksDiff,
          },
          null,
          2,
        ),
      );
    }
    if (!agree) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
