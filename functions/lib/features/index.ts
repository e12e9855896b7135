// Registry of the feature sets this build knows, looked up by the name stored in each model artifact.
import type { FeatureSet } from './feature-set.ts';
import { flights } from './flights.ts';

/** Every known feature set by name. A name, once published, keeps its meaning (see FeatureSet). */
export const featureSets: Readonly<Record<string, FeatureSet>> = Object.freeze({ [flights.name]: flights });

/** The feature set called `name`, or undefined when this build does not know it. */
export function getFeatureSet(name: string): FeatureSet | undefined {
  // hasOwn, so names such as "toString" or "__proto__" are unknown rather than Object.prototype members.
  return Object.hasOwn(featureSets, name) ? featureSets[name] : undefined;
}
