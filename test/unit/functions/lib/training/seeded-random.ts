// Test helper: a small seeded generator, so synthetic datasets are the same on every run.

export { seededRandom } from '../../../../../functions/lib/random.ts';

/** Standard normal draws (Box–Muller) from a uniform generator. */
export function seededNormal(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}
