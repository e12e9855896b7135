// Limited-memory BFGS minimiser for smooth functions: the optimiser behind the model trainers.

/** Writes ∇f(θ) into `gradient` and returns f(θ). */
export type Objective = (theta: Float64Array, gradient: Float64Array) => number;

export interface LbfgsOptions {
  readonly maxIterations: number;
  /** Converged once no gradient component exceeds this in absolute value. */
  readonly tolerance: number;
  /** Correction pairs kept. @default 10 */
  readonly history?: number;
}

export interface LbfgsResult {
  readonly solution: Float64Array;
  readonly value: number;
  readonly iterations: number;
  /** Whether the gradient tolerance was reached. */
  readonly converged: boolean;
}

/** Armijo sufficient-decrease constant and step shrink factor of the backtracking line search. */
const ARMIJO = 1e-4;
const SHRINK = 0.5;
const MAX_BACKTRACKS = 60;
/**
 * Relative decrease of f below which progress has hit floating-point resolution. Past it a line
 * search that compares values cannot reduce the gradient further, so iterating is waste.
 */
const STALL = 1e-15;

/** One correction pair: step s, gradient change y, and ρ = 1 / (s·y). */
interface Pair {
  readonly s: Float64Array;
  readonly y: Float64Array;
  readonly rho: number;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
};

const maxAbs = (a: Float64Array) => a.reduce((max, v) => Math.max(max, Math.abs(v)), 0);

/** Writes −H·gradient into `out` by the two-loop recursion, H the inverse Hessian the pairs imply. */
function searchDirection(gradient: Float64Array, pairs: readonly Pair[], out: Float64Array): void {
  const alpha = new Float64Array(pairs.length);
  for (let i = 0; i < out.length; i++) out[i] = -(gradient[i] ?? 0);
  for (let k = pairs.length - 1; k >= 0; k--) {
    const { s, y, rho } = pairs[k] as Pair;
    const a = rho * dot(s, out);
    alpha[k] = a;
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) - a * (y[i] ?? 0);
  }
  const newest = pairs.at(-1);
  // Initial scaling: s·y / y·y from the newest pair; with none yet, a unit-length first step.
  const gamma = newest
    ? dot(newest.s, newest.y) / dot(newest.y, newest.y)
    : 1 / Math.sqrt(dot(gradient, gradient));
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) * gamma;
  pairs.forEach(({ s, y, rho }, k) => {
    const correction = (alpha[k] ?? 0) - rho * dot(y, out);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) + correction * (s[i] ?? 0);
  });
}

/**
 * Minimise `f` from `start` with L-BFGS and a backtracking Armijo line search. Stops at the
 * gradient tolerance, at maxIterations, or when floating point allows no further progress.
 * Pure and deterministic: the same inputs give bit-identical results.
 */
export function minimiseLbfgs(f: Objective, start: Float64Array, options: LbfgsOptions): LbfgsResult {
  const size = start.length;
  const history = options.history ?? 10;
  const pairs: Pair[] = [];
  const direction = new Float64Array(size);
  let theta = Float64Array.from(start);
  let gradient = new Float64Array(size);
  let value = f(theta, gradient);
  let next = new Float64Array(size);
  let nextGradient = new Float64Array(size);
  const result = (iterations: number): LbfgsResult => ({
    solution: theta,
    value,
    iterations,
    converged: maxAbs(gradient) <= options.tolerance,
  });

  for (let iteration = 0; iteration < options.maxIterations; iteration++) {
    if (maxAbs(gradient) <= options.tolerance) return result(iteration);

    searchDirection(gradient, pairs, direction);
    let slope = dot(gradient, direction);
    if (!(slope < 0)) {
      // The curvature estimate went stale (not a descent direction): restart from steepest descent.
      pairs.length = 0;
      searchDirection(gradient, pairs, direction);
      slope = dot(gradient, direction);
    }

    let step = 1;
    let nextValue = value;
    let accepted = false;
    for (let tries = 0; tries < MAX_BACKTRACKS && !accepted; tries++) {
      for (let i = 0; i < size; i++) next[i] = (theta[i] ?? 0) + step * (direction[i] ?? 0);
      nextValue = f(next, nextGradient);
      accepted = nextValue <= value + ARMIJO * step * slope;
      if (!accepted) step *= SHRINK;
    }
    // No sufficient decrease at any step: as close to the optimum as floating point allows.
    if (!accepted) return result(iteration);

    const s = new Float64Array(size);
    const y = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      s[i] = (next[i] ?? 0) - (theta[i] ?? 0);
      y[i] = (nextGradient[i] ?? 0) - (gradient[i] ?? 0);
    }
    const curvature = dot(s, y);
    // Keep only pairs with positive curvature, so the inverse-Hessian estimate stays positive definite.
    if (curvature > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (pairs.length === history) pairs.shift();
      pairs.push({ s, y, rho: 1 / curvature });
    }
    const stalled = value - nextValue <= STALL * Math.max(1, Math.abs(value));
    [theta, next] = [next, theta];
    [gradient, nextGradient] = [nextGradient, gradient];
    value = nextValue;
    if (stalled) return result(iteration + 1);
  }
  return result(options.maxIterations);
}
