// `npm run bench -- training`: fit time and rows/s of the in-Lambda trainers on 1M synthetic rows ×
// 20 features, the size one training Lambda (10 GB, 15 min) must handle. Each trainer runs in its own
// child process (this file, given a trainer name), so its peak RSS is its own.
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { seededRandom } from '../functions/lib/random.ts';
import {
  DEFAULT_GBDT_PARAMS,
  fitGradientBoostedTrees,
  predictGbdtProbabilities,
} from '../functions/lib/training/gbdt.ts';
import {
  DEFAULT_LOGISTIC_REGRESSION_PARAMS,
  fitLogisticRegression,
  predictProbabilities,
} from '../functions/lib/training/logistic-regression.ts';
import { rocAuc } from '../functions/lib/training/metrics.ts';
import { sigmoid } from '../functions/lib/training/sigmoid.ts';

const ROWS = 1_000_000;
const FEATURES = 20;
const SEED = 2026;
const LAMBDA_LIMIT_SECONDS = 15 * 60;
/**
 * Trees grown in the measured gbdt fit: by default all of a default fit's (300; no validation set,
 * so no early stopping), which takes under 2 min here. `BENCH_GBDT_TREES=30` grows fewer, for a
 * quicker run, and extrapolates to the default from the setup and per-tree costs.
 */
const GBDT_TREES = Number(process.env.BENCH_GBDT_TREES ?? DEFAULT_GBDT_PARAMS.nTrees);
const TRAINERS = ['logreg', 'gbdt'] as const;
type Trainer = (typeof TRAINERS)[number];

/** What one trainer's child process reports. */
interface TrainerResult {
  trainer: Trainer;
  rows: number;
  features: number;
  /** Seconds to generate the synthetic data (not part of the fit). */
  generateSeconds: number;
  /** Seconds of the measured fit: for gbdt, the one growing `detail.trees` trees (the 1-tree fit is apart). */
  fitSeconds: number;
  /** Rows over the seconds of a full default fit (`projectedSeconds`). */
  rowsPerSecond: number;
  /** Seconds a full default fit takes: measured for logreg, extrapolated for gbdt unless all trees were grown. */
  projectedSeconds: number;
  /** Whether `projectedSeconds` is extrapolated from fewer trees than the default. */
  extrapolated: boolean;
  /** Highest `process.memoryUsage().rss` sampled every 25 ms, in bytes. */
  peakSampledRssBytes: number;
  /** `process.resourceUsage().maxRSS` at the end, in bytes. */
  maxRssBytes: number;
  /** AUC of the fitted model on the training rows, against the ground truth's own. */
  trainAuc: number;
  groundTruthAuc: number;
  detail: Record<string, number | boolean>;
}

/**
 * `rows` × `features` float32 matrix of standard normals and labels drawn from a known logistic
 * model P(y = 1 | x) = σ(b + w·x), seeded so every run and both trainers see the same data.
 */
function syntheticData(rows: number, features: number, seed: number) {
  const uniform = seededRandom(seed);
  const weights = Array.from(
    { length: features },
    (_, j) => (j % 2 === 0 ? 1 : -1) * (0.1 + 0.9 * uniform()),
  );
  const intercept = -1;
  const x = new Float32Array(rows * features);
  const y = new Uint8Array(rows);
  const truth = new Float64Array(rows);
  let spare: number | null = null;
  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    // Box–Muller: two normals per two uniforms; 1 − u keeps the logarithm finite.
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  for (let i = 0; i < rows; i++) {
    let z = intercept;
    for (let j = 0; j < features; j++) {
      const v = Math.fround(normal());
      x[i * features + j] = v;
      z += (weights[j] ?? 0) * v;
    }
    truth[i] = sigmoid(z);
    y[i] = uniform() < (truth[i] ?? 0) ? 1 : 0;
  }
  return { x, y, truth, weights, intercept };
}

/** Samples this process's RSS from a worker thread, which keeps ticking while a fit blocks the main one. */
function startRssSampler(): { stop(): Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     let peak = 0;
     const sample = () => { peak = Math.max(peak, process.memoryUsage.rss()); };
     const timer = setInterval(sample, 25);
     sample();
     parentPort.on('message', () => { sample(); clearInterval(timer); parentPort.postMessage(peak); });`,
    { eval: true },
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (peak: number) => {
          void worker.terminate();
          resolve(peak);
        });
        worker.postMessage('stop');
      }),
  };
}

const seconds = (start: number) => (performance.now() - start) / 1000;

/** Child-process side: generate the data, fit `trainer`, report over IPC. */
async function measure(trainer: Trainer): Promise<TrainerResult> {
  const sampler = startRssSampler();
  const generateStart = performance.now();
  const data = syntheticData(ROWS, FEATURES, SEED);
  const generateSeconds = seconds(generateStart);
  const groundTruthAuc = rocAuc(data.truth, data.y);
  let fitSeconds: number;
  let projectedSeconds: number;
  let rowsPerSecond: number;
  let trainAuc: number;
  let extrapolated = false;
  let detail: TrainerResult['detail'];
  if (trainer === 'logreg') {
    const start = performance.now();
    const model = fitLogisticRegression(data.x, data.y, FEATURES);
    fitSeconds = seconds(start);
    projectedSeconds = fitSeconds;
    rowsPerSecond = ROWS / fitSeconds;
    trainAuc = rocAuc(predictProbabilities(model, data.x, FEATURES), data.y);
    const recovered = model.weights.map((w, j) => w / (model.scale[j] ?? 1));
    const weightError = Math.max(...recovered.map((w, j) => Math.abs(w - (data.weights[j] ?? 0))));
    detail = {
      iterations: model.iterations,
      converged: model.converged,
      maxWeightError: weightError,
      // This problem is well conditioned; harder data needs more iterations, up to maxIterations.
      secondsAtMaxIterations:
        (fitSeconds / model.iterations) * DEFAULT_LOGISTIC_REGRESSION_PARAMS.maxIterations,
    };
  } else {
    // Two fits separate the one-off cost (binning every feature) from the cost per tree.
    const oneStart = performance.now();
    fitGradientBoostedTrees(data.x, data.y, FEATURES, { nTrees: 1 });
    const oneTreeSeconds = seconds(oneStart);
    const start = performance.now();
    const model = fitGradientBoostedTrees(data.x, data.y, FEATURES, { nTrees: GBDT_TREES });
    fitSeconds = seconds(start);
    const perTreeSeconds = GBDT_TREES > 1 ? (fitSeconds - oneTreeSeconds) / (GBDT_TREES - 1) : fitSeconds;
    const setupSeconds = Math.max(0, oneTreeSeconds - perTreeSeconds);
    const defaultTrees = DEFAULT_GBDT_PARAMS.nTrees;
    extrapolated = GBDT_TREES !== defaultTrees;
    projectedSeconds = extrapolated ? setupSeconds + defaultTrees * perTreeSeconds : fitSeconds;
    rowsPerSecond = ROWS / projectedSeconds;
    trainAuc = rocAuc(predictGbdtProbabilities(model, data.x, FEATURES), data.y);
    detail = {
      trees: GBDT_TREES,
      defaultTrees,
      oneTreeFitSeconds: oneTreeSeconds,
      setupSeconds,
      perTreeSeconds,
      rowTreesPerSecond: (ROWS * GBDT_TREES) / fitSeconds,
    };
  }
  return {
    trainer,
    rows: ROWS,
    features: FEATURES,
    generateSeconds,
    fitSeconds,
    rowsPerSecond,
    projectedSeconds,
    extrapolated,
    peakSampledRssBytes: await sampler.stop(),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    trainAuc,
    groundTruthAuc,
    detail,
  };
}

function runChild(trainer: Trainer): Promise<TrainerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [trainer], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: TrainerResult | undefined;
    child.once('message', (m) => {
      result = m as TrainerResult;
    });
    child.once('exit', (code) =>
      code === 0 && result ? resolve(result) : reject(new Error(`${trainer} bench exited ${code}`)),
    );
  });
}

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function summarise(r: TrainerResult): string[] {
  const share = r.projectedSeconds / LAMBDA_LIMIT_SECONDS;
  const verdict = share <= 1 ? `fits, ${(1 / share).toFixed(1)}× headroom` : 'EXCEEDS the limit';
  const lines = [
    `${r.trainer}`,
    `  fit           ${r.fitSeconds.toFixed(1)} s for ${int(r.rows)} rows × ${r.features} features → ${int(r.rowsPerSecond)} rows/s${r.extrapolated ? ' (of the extrapolated full fit)' : ''}`,
  ];
  if (r.trainer === 'logreg') {
    lines.push(
      `  model         ${r.detail.iterations} L-BFGS iterations (converged: ${r.detail.converged}), max |ŵ − w| ${Number(r.detail.maxWeightError).toFixed(4)}, train AUC ${r.trainAuc.toFixed(4)} (ground truth ${r.groundTruthAuc.toFixed(4)})`,
      `  worst case    ~${Number(r.detail.secondsAtMaxIterations).toFixed(0)} s if a harder fit ran all ${DEFAULT_LOGISTIC_REGRESSION_PARAMS.maxIterations} iterations (at this fit's s/iteration, setup included)`,
    );
  } else {
    const d = r.detail;
    lines.push(
      `  model         train AUC ${r.trainAuc.toFixed(4)} after ${d.trees} trees (ground truth ${r.groundTruthAuc.toFixed(4)})`,
      `  measured      ${d.trees} trees (depth ${DEFAULT_GBDT_PARAMS.maxDepth}, ${DEFAULT_GBDT_PARAMS.maxBins} bins): ${int(Number(d.rowTreesPerSecond))} rows×trees/s; setup ${Number(d.setupSeconds).toFixed(1)} s + ${Number(d.perTreeSeconds).toFixed(3)} s per tree`,
    );
  }
  lines.push(
    `  peak RSS      ${gb(r.peakSampledRssBytes)} sampled, ${gb(r.maxRssBytes)} maxRSS (data ${gb(r.rows * r.features * 4)} of it)`,
    `  full fit      ${r.projectedSeconds.toFixed(1)} s${r.extrapolated ? ` EXTRAPOLATED to the default ${r.detail.defaultTrees} trees` : ''} = ${(share * 100).toFixed(1)}% of Lambda's 15 min: ${verdict}`,
  );
  return lines;
}

/** Run each trainer in its own child process and print (or, with `json`, emit) the figures. */
export async function runTrainingBench({ json }: { json: boolean }): Promise<void> {
  const say = (line: string) => !json && console.log(line);
  say(
    `\ntraining throughput: ${int(ROWS)} rows × ${FEATURES} float32 features, seeded logistic ground truth, default params, one process per trainer\n`,
  );
  const results: TrainerResult[] = [];
  for (const trainer of TRAINERS) {
    const result = await runChild(trainer);
    results.push(result);
    for (const line of summarise(result)) say(line);
  }
  say(
    `\n(data generation ${results[0]?.generateSeconds.toFixed(1)} s per process, not counted; the trainers are single-threaded, so Lambda's vCPUs beyond one do not help)`,
  );
  if (json) {
    console.log(
      JSON.stringify(
        { rows: ROWS, features: FEATURES, lambdaLimitSeconds: LAMBDA_LIMIT_SECONDS, trainers: results },
        null,
        2,
      ),
    );
  }
}

// Child-process entry: `tsx bench/training.ts <trainer>`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const trainer = process.argv[2] as Trainer;
  if (!TRAINERS.includes(trainer))
    throw new Error(`expected a trainer (${TRAINERS.join(', ')}), got ${trainer}`);
  const result = await measure(trainer);
  process.send?.(result, () => process.exit(0));
}
