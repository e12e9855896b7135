// ImportContainerModel: a SageMaker job's model.tar.gz (packed by the system tar, as a training
// container's /opt/ml/model is) holding a model.onnx trained on the run's own split is taken in
// as the run's model; archives that break the serving contract are refused, saying why.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../../functions/evaluate/core.ts';
import { importContainerModel } from '../../../../functions/import-container-model/core.ts';
import { InvalidRequest } from '../../../../functions/lib/errors.ts';
import { MODEL_METADATA_KEYS } from '../../../../functions/lib/onnx/model-metadata.ts';
import { TrainResult } from '../../../../functions/lib/runs/step-results.ts';
import type { PipelineState } from '../../../../functions/lib/runs/training-run.ts';
import { writeTar } from '../../../../functions/lib/storage/tar.ts';
import {
  keysWrittenBy,
  onnxLoadModel,
  runThrough,
  startRun,
  type TestRun,
} from '../../../support/training-run.ts';

const { onnx } = onnxProto;
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/flights-trainer:1';
const JOB = 'byoc-train';
const ARCHIVE_KEY = `runs/byoc/train/container/${JOB}/output/model.tar.gz`;

let run: TestRun;
let trainedModel: Uint8Array;
let work: string;

/** The state ImportContainerModel gets after TrainInContainer put the job's result at $.containerJob. */
const importState = (): PipelineState => ({
  ...run.state,
  trainer: 'container',
  container: { image: IMAGE, instanceType: 'ml.m5.xlarge', maxRuntimeSeconds: 3600 },
  containerJob: { modelArtifactsUri: `s3://artifacts/${ARCHIVE_KEY}`, trainingJobName: JOB },
});

/** model.tar.gz as SageMaker uploads it: `tar -czf` of /opt/ml/model's contents. */
function packModelDir(name: string, files: Record<string, Uint8Array>): Uint8Array {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const [file, body] of Object.entries(files)) writeFileSync(join(dir, file), body);
  execFileSync('tar', ['-czf', join(work, `${name}.tar.gz`), '-C', dir, '.']);
  return readFileSync(join(work, `${name}.tar.gz`));
}

/** `model` with its metadata entry `key` set to `value`. */
function withMetadata(model: Uint8Array, key: string, value: string): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  for (const entry of proto.metadataProps) if (entry.key === key) entry.value = value;
  return onnx.ModelProto.encode(proto).finish();
}

const putArchive = (archive: Uint8Array) =>
  run.artifacts.objects.set(ARCHIVE_KEY, { body: archive, contentType: 'application/gzip' });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'import-container-'));
  // The container trained on the run's own preprocess output, as the train step would have.
  run = startRun({ runId: 'byoc' });
  await runThrough(run, 'train');
  trainedModel = Uint8Array.from(run.artifacts.objects.get('runs/byoc/train/model.onnx')?.body ?? []);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('importContainerModel', () => {
  it("imports the job's model.onnx as the run's model, where TrainModel would have put it", async () => {
    // Prepare
    putArchive(
      packModelDir('valid', {
        'model.onnx': trainedModel,
        'notes.txt': Buffer.from('trained in a container'),
      }),
    );
    run.artifacts.objects.delete('runs/byoc/train/model.onnx');

    // Act
    let result: TrainResult | undefined;
    const written = await keysWrittenBy(run.artifacts, async () => {
      result = await importContainerModel(importState(), run.ports);
    });

    // Assess
    expect(written).toEqual(['runs/byoc/train/model.onnx']);
    expect(result).toEqual(TrainResult.parse(result));
    expect(result).toEqual({
      modelUri: 's3://artifacts/runs/byoc/train/model.onnx',
      modelSha256: createHash('sha256').update(trainedModel).digest('hex'),
      trainer: 'container',
      params: { image: IMAGE, trainingJob: JOB, splitSeed: 0 },
      output: 's3://artifacts/runs/byoc/train/model.onnx',
    });
    expect(
      Buffer.compare(
        run.artifacts.objects.get('runs/byoc/train/model.onnx')?.body ?? new Uint8Array(),
        trainedModel,
      ),
    ).toBe(0);
  });

  it('hands Evaluate a model it scores through onnxruntime like any other', async () => {
    // Prepare
    putArchive(packModelDir('evaluated', { 'model.onnx': trainedModel }));
    const model = await importContainerModel(importState(), run.ports);
    const testSet = (run.state.training as { testSet: unknown }).testSet;

    // Act
    const evaluation = await evaluate(
      { ...importState(), training: { model, testSet } },
      { artifacts: run.artifacts, loadModel: onnxLoadModel(run.artifacts) },
    );

    // Assess
    expect(evaluation.auc).toBeGreaterThan(0.6);
  });

  it.each([
    [
      'an archive without model.onnx',
      () =>
        packModelDir('no-model', {
          'model.pt': Buffer.from('torch weights'),
          'README.md': Buffer.from('hi'),
        }),
      /training job byoc-train wrote no model.onnx to \/opt\/ml\/model \(found: (README\.md, model\.pt|model\.pt, README\.md)\)/,
    ],
    [
      'a model declaring another feature set',
      () =>
        gzipSync(
          writeTar(
            new Map([
              ['model.onnx', withMetadata(trainedModel, MODEL_METADATA_KEYS.featureSet, 'flights-v0')],
            ]),
          ),
        ),
      /model.onnx of byoc-train declares feature set "flights-v0", the run uses "flights-v1" \(metadata key mlops.featureSet\)/,
    ],
    [
      'a model declaring other input columns',
      () =>
        gzipSync(
          writeTar(
            new Map([
              ['model.onnx', withMetadata(trainedModel, MODEL_METADATA_KEYS.featureNames, '["distance"]')],
            ]),
          ),
        ),
      /model.onnx of byoc-train does not declare the run's input columns in mlops.featureNames \(copy them from encoding.json\)/,
    ],
    [
      'a model.onnx that is not an ONNX model',
      () => gzipSync(writeTar(new Map([['model.onnx', Buffer.from('definitely not protobuf')]]))),
      /model.onnx of byoc-train is not an ONNX model/,
    ],
    [
      'a file that is not gzip',
      () => writeTar(new Map([['model.onnx', trainedModel]])),
      /s3:\/\/artifacts\/runs\/byoc\/train\/container\/byoc-train\/output\/model.tar.gz is not a gzipped tar archive/,
    ],
  ])('fails with InvalidRequest on %s, saying what is wrong', async (_, archive, message) => {
    // Prepare
    putArchive(archive());

    // Act
    let outcome: unknown;
    const written = await keysWrittenBy(run.artifacts, async () => {
      outcome = await importContainerModel(importState(), run.ports).catch((e: unknown) => e);
    });

    // Assess
    expect(outcome).toBeInstanceOf(InvalidRequest);
    expect((outcome as Error).message).toMatch(message);
    expect(written).toEqual([]);
  });
});
