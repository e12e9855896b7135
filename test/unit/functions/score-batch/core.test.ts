// ScoreFile and ScoreBatch: the same rows give the same parts, keys and bytes whichever path
// scores them; a Map batch that is not one whole part is refused rather than written misnamed.
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchPlan } from '../../../../functions/lib/batch/batch-plan.ts';
import type { ScorePartPorts } from '../../../../functions/lib/batch/score-part.ts';
import { InvalidRequest } from '../../../../functions/lib/errors.ts';
import type { ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import { createOnnxModelLoader } from '../../../../functions/lib/serving/onnx-model-loader.ts';
import { recipeFor } from '../../../../functions/lib/training/recipes.ts';
import { scoreBatch } from '../../../../functions/score-batch/core.ts';
import { scoreFile } from '../../../../functions/score-file/core.ts';
import { type MemoryObjectStore, memoryObjectStore } from '../../../support/memory-object-store.ts';
import { flightRows, trainFlightModel } from '../../../support/trained-model.ts';

const rows = flightRows(25).map(({ delay: _delay, ...instance }, i) => ({ id: `f${i}`, ...instance }));
const plan: BatchPlan = {
  bucket: 'data',
  key: 'incoming/fixture/jan.jsonl',
  readKey: 'incoming/fixture/jan.jsonl',
  etag: 'abc',
  bytes: 1,
  format: 'jsonl',
  gzip: false,
  model: 'fixture',
  version: 1,
  featureSet: 'flights-v1',
  artifactUri: 's3://artifacts/models/fixture/1/model.onnx',
  artifactSha256: '',
  dt: '2026-11-20',
  source: 'jan.jsonl',
  mode: 'small',
  batchSize: 10,
  startedAt: '2026-11-20T00:00:00.000Z',
};
let model: ScorePartPorts['model'];

beforeAll(async () => {
  const trained = trainFlightModel();
  model = await createOnnxModelLoader(async () => trained.bytes)({
    model: 'fixture',
    version: 1,
    artifactUri: plan.artifactUri,
    artifactSha256: trained.sha256,
    featureSet: 'flights-v1',
  } as ModelVersion);
});

function ports(): { data: MemoryObjectStore; ports: ScorePartPorts } {
  const data = memoryObjectStore('data');
  return { data, ports: { data, model, recipe: recipeFor('flights-v1') } };
}

describe('scoreFile and scoreBatch', () => {
  it('write the same parts with the same bytes for the same rows', async () => {
    const small = ports();
    await small.data.write(plan.readKey, rows.map((r) => `${JSON.stringify(r)}\n`).join(''), 'x');
    const summaries = await scoreFile(plan, small.ports);
    expect(summaries.map((p) => p.rowsIn)).toEqual([10, 10, 5]);

    const large = ports();
    for (let start = 0; start < rows.length; start += plan.batchSize) {
      const items = rows.slice(start, start + plan.batchSize).map((row, i) => ({ index: start + i, row }));
      expect(await scoreBatch({ Items: items, BatchInput: { plan } }, large.ports)).toEqual({
        index: start / plan.batchSize,
        rejected: false,
      });
    }
    for (const part of summaries)
      expect(Buffer.from(await large.data.read(part.scoresKey))).toEqual(
        Buffer.from(await small.data.read(part.scoresKey)),
      );
  });

  it('refuses a Map batch that does not start or end on a part boundary', async () => {
    const items = rows.slice(5, 15).map((row, i) => ({ index: 5 + i, row }));
    await expect(scoreBatch({ Items: items, BatchInput: { plan } }, ports().ports)).rejects.toBeInstanceOf(
      InvalidRequest,
    );
  });
});
