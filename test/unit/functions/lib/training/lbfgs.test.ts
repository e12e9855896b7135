import { describe, expect, it } from 'vitest';
import { minimiseLbfgs, type Objective } from '../../../../../functions/lib/training/lbfgs.ts';

/** Rosenbrock's banana valley: minimum 0 at (1, 1), notoriously slow for steepest descent. */
const rosenbrock: Objective = ([a = 0, b = 0], gradient) => {
  gradient[0] = -2 * (1 - a) - 400 * a * (b - a * a);
  gradient[1] = 200 * (b - a * a);
  return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
};

describe('minimiseLbfgs', () => {
  it('finds the minimum of the Rosenbrock function', () => {
    const result = minimiseLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), {
      maxIterations: 500,
      tolerance: 1e-8,
    });
    expect(result.converged).toBe(true);
    expect(result.solution[0]).toBeCloseTo(1, 6);
    expect(result.solution[1]).toBeCloseTo(1, 6);
    expect(result.iterations).toBeLessThan(100);
  });

  it('solves an ill-conditioned quadratic', () => {
    const curvature = [1, 1e-3, 1e3];
    const quadratic: Objective = (theta, gradient) => {
      let value = 0;
      theta.forEach((t, i) => {
        const c = curvature[i] ?? 1;
        gradient[i] = c * (t - i);
        value += (c * (t - i) ** 2) / 2;
      });
      return value;
    };
    const result = minimiseLbfgs(quadratic, new Float64Array(3), { maxIterations: 200, tolerance: 1e-10 });
    expect(Array.from(result.solution).map((v) => Number(v.toFixed(5)))).toEqual([0, 1, 2]);
  });

  it('stops at maxIterations and says it did not converge', () => {
    const result = minimiseLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), {
      maxIterations: 3,
      tolerance: 1e-8,
    });
    expect(result).toMatchObject({ iterations: 3, converged: false });
  });

  it('returns the start unchanged when it is already optimal', () => {
    const result = minimiseLbfgs(rosenbrock, Float64Array.from([1, 1]), {
      maxIterations: 10,
      tolerance: 1e-8,
    });
    expect(result).toMatchObject({ iterations: 0, converged: true, value: 0 });
  });
});
