// The files one retraining execution writes (one home for their names, so writers and readers
// cannot drift apart): working files under `retraining/{executionName}/` in the artifacts bucket,
// and the challenger's training dataset in the data bucket.
import { retrainingDatasetKey, retrainingKey } from '../storage/s3-layout.ts';

export const retrainingFiles = (executionName: string) =>
  ({
    /** What PrepareRetrainingData read: partitions, files, rejected and duplicate rows, the split. */
    groundTruthReport: retrainingKey(executionName, 'ground-truth.json'),
    /** The held-out rows both models are scored on (JSON Lines of raw rows). */
    holdout: retrainingKey(executionName, 'holdout.jsonl'),
    /** Both models' holdout metrics, every gate with its values and limits, the decision and why. */
    comparison: retrainingKey(executionName, 'comparison.json'),
    /** How the execution ended: promoted, kept (and why) or failed. */
    outcome: retrainingKey(executionName, 'outcome.json'),
    /** Data bucket: the challenger's training rows (JSON Lines of raw rows). */
    challengerDataset: retrainingDatasetKey(executionName),
  }) as const;

/** A retraining execution's name, as `$$.Execution.Name` gives it: a safe key segment. */
export function checkExecutionName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
    throw new RangeError(`not a retraining execution name: ${JSON.stringify(name)}`);
  return name;
}

/**
 * The release execution a retraining starts for its winning challenger: named after the retraining
 * (at most 80 characters), so a retried start finds the one already started.
 */
export function retrainingReleaseName(executionName: string): string {
  const suffix = '-release';
  return `${checkExecutionName(executionName).slice(0, 80 - suffix.length)}${suffix}`;
}
