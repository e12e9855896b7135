// The files pipeline steps hand to each other under `runs/{runId}/{step}/` (one home for their
// names, so a writer and its readers cannot drift apart).
import { runKey } from '../storage/s3-layout.ts';

export const runFiles = (runId: string) =>
  ({
    validationReport: runKey(runId, 'validate', 'report.json'),
    // What a training container may read (its channel `train`): the train side and the encoding,
    // never the held-out rows, which sit under a sibling prefix.
    trainInput: runKey(runId, 'preprocess', 'train/'),
    trainRows: runKey(runId, 'preprocess', 'train/train.jsonl'),
    encoding: runKey(runId, 'preprocess', 'train/encoding.json'),
    testRows: runKey(runId, 'preprocess', 'test/test.jsonl'),
    inputProfile: runKey(runId, 'preprocess', 'profile.json'),
    model: runKey(runId, 'train', 'model.onnx'),
    training: runKey(runId, 'train', 'training.json'),
    containerOutput: runKey(runId, 'train', 'container'),
    testSet: runKey(runId, 'build-test-set', 'test-set.json'),
    testFeatures: runKey(runId, 'build-test-set', 'features.f32'),
    metrics: runKey(runId, 'evaluate', 'metrics.json'),
    profile: runKey(runId, 'evaluate', 'profile.json'),
  }) as const;

/** A row as Preprocess writes it for training and testing. */
export interface LabelledRow {
  readonly instance: unknown;
  readonly label: 0 | 1;
}

/** What Preprocess learned on the train split: the feature set's encoding. */
export interface FittedEncoding {
  readonly featureSet: string;
  readonly encoding: unknown;
  readonly featureNames: string[];
}
