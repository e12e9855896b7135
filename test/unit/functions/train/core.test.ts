// The train-and-register use case with in-memory ports: a registry with the adapter's semantics
// (idempotent allocation by run id, first registration wins) and an artifact store keyed by S3 key.
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidRequest, ModelNotFound } from '../../../../functions/lib/errors.ts';
import { MODEL_METADATA_KEYS, readModelMetadata } from '../../../../functions/lib/onnx/model-metadata.ts';
import type {
  ModelRegistry,
  ModelSummary,
  ModelVersion,
  NewModelVersion,
} from '../../../../functions/lib/registry/model-version.ts';
import { DEFAULT_LOGISTIC_REGRESSION_PARAMS } from '../../../../functions/lib/training/logistic-regression.ts';
import {
  parseDataset,
  type TrainPorts,
  type TrainRequest,
  trainAndRegister,
} from '../../../../functions/train/core.ts';
import { type FlightRow, flightRows } from '../../../support/trained-model.ts';

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** ModelRegistry in memory, with the DynamoDB adapter's idempotency rules. */
class InMemoryRegistry implements ModelRegistry {
  readonly versions = new Map<string, ModelVersion>();
  private readonly runs = new Map<string, number>();
  private readonly heads = new Map<
    string,
    { latestVersion: number; productionVersion?: number; stageRevision: number }
  >();

  async getModel(model: string): Promise<ModelSummary | undefined> {
    const head = this.heads.get(model);
    return head && { model, ...head };
  }

  async getVersion(model: string, version: number): Promise<ModelVersion | undefined> {
    const item = this.versions.get(`${model}@${version}`);
    if (!item) return undefined;
    // As in the adapter, the head's pointer decides: a former champion reads as Archived.
    const production = this.heads.get(model)?.productionVersion === version;
    const stage = production ? 'Production' : item.stage === 'Production' ? 'Archived' : item.stage;
    return { ...item, stage };
  }

  async getProductionVersion(model: string): Promise<ModelVersion | undefined> {
    const production = this.heads.get(model)?.productionVersion;
    return production === undefined ? undefined : this.getVersion(model, production);
  }

  async listModels(): Promise<ModelSummary[]> {
    return Promise.all(
      [...this.heads.keys()].map(async (model) => (await this.getModel(model)) as ModelSummary),
    );
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    const mine = [...this.versions.values()].filter((v) => v.model === model);
    return Promise.all(mine.map(async (v) => (await this.getVersion(model, v.version)) as ModelVersion));
  }

  async allocateVersion(model: string, trainingRunId: string): Promise<number> {
    const known = this.runs.get(`${model}/${trainingRunId}`);
    if (known !== undefined) return known;
    const head = this.heads.get(model) ?? { latestVersion: 0, stageRevision: 0 };
    head.latestVersion += 1;
    this.heads.set(model, head);
    this.runs.set(`${model}/${trainingRunId}`, head.latestVersion);
    return head.latestVersion;
  }

  async registerVersion(input: NewModelVersion): Promise<ModelVersion> {
    const key = `${input.model}@${input.version}`;
    if (!this.versions.has(key)) {
      this.versions.set(key, {
        ...input,
        stage: input.stage ?? 'Staging',
        createdAt: '2024-01-01T00:00:00.000Z',
      });
    }
    return (await this.getVersion(input.model, input.version)) as ModelVersion;
  }

  async promoteToProduction(model: string, version: number): Promise<ModelVersion> {
    const head = this.heads.get(model);
    const item = await this.getVersion(model, version);
    if (!head || !item) throw new ModelNotFound(`model ${model} has no version ${version}`);
    if (head.productionVersion === version) return item;
    head.productionVersion = version;
    head.stageRevision += 1;
    this.versions.set(`${model}@${version}`, { ...item, stage: 'Production' });
    return (await this.getVersion(model, version)) as ModelVersion;
  }
}

interface StoredObject {
  readonly body: Uint8Array | string;
  readonly contentType: string;
}

/** Ports over an in-memory registry, dataset store and artifacts bucket. */
function fakePorts(datasets: Record<string, Uint8Array | string>) {
  const registry = new InMemoryRegistry();
  const artifacts = new Map<string, StoredObject>();
  const writes: string[] = [];
  const logs: { message: string; data?: Record<string, unknown> }[] = [];
  const ports: TrainPorts = {
    registry,
    async readDataset(uri) {
      const data = datasets[uri];
      if (data === undefined) throw new Error(`NoSuchKey: ${uri}`);
      return typeof data === 'string' ? new TextEncoder().encode(data) : data;
    },
    async writeArtifact(key, body, contentType) {
      artifacts.set(key, { body, contentType });
      writes.push(key);
      return `s3://artifacts/${key}`;
    },
    log: (message, data) => logs.push({ message, data }),
  };
  return { ports, registry, artifacts, writes, logs };
}

const DATASET_URI = 's3://data/datasets/flights.json';
const jsonArray = (rows: readonly object[]) => JSON.stringify(rows);
const jsonLines = (rows: readonly object[]) => `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;

const request = (overrides: Partial<TrainRequest> = {}): TrainRequest => ({
  model: 'flight-delay',
  datasetUri: DATASET_URI,
  featureSet: 'flights-v1',
  ...overrides,
});

let rows: FlightRow[];

beforeEach(() => {
  rows = flightRows(1_500);
});

describe('trainAndRegister', () => {
  it('writes model.onnx, metrics.json and card.md under models/{model}/{version}/', async () => {
    // Prepare
    const { ports, artifacts } = fakePorts({ [DATASET_URI]: jsonArray(rows) });

    // Act
    const result = await trainAndRegister(request(), ports);

    // Assess
    expect(result.version.version).toBe(1);
    expect([...artifacts.keys()].sort()).toEqual([
      'models/flight-delay/1/card.md',
      'models/flight-delay/1/metrics.json',
      'models/flight-delay/1/model.onnx',
    ]);
    expect(artifacts.get('models/flight-delay/1/model.onnx')?.contentType).toBe('application/octet-stream');
    expect(artifacts.get('models/flight-delay/1/metrics.json')?.contentType).toBe('application/json');
    expect(artifacts.get('models/flight-delay/1/card.md')?.contentType).toBe('text/markdown');
  });

  it('registers the version with its lineage: artifact and dataset digests, run id, params and metrics', async () => {
    // Prepare
    const dataset = jsonArray(rows);
    const { ports, artifacts, registry } = fakePorts({ [DATASET_URI]: dataset });

    // Act
    const result = await trainAndRegister(request({ seed: 7, createdBy: 'alice' }), ports);

    // Assess
    const modelBytes = artifacts.get('models/flight-delay/1/model.onnx')?.body as Uint8Array;
    const registered = await registry.getVersion('flight-delay', 1);
    expect(registered).toEqual(result.version);
    expect(result.version).toMatchObject({
      model: 'flight-delay',
      version: 1,
      stage: 'Staging',
      artifactUri: 's3://artifacts/models/flight-delay/1/model.onnx',
      artifactSha256: sha256(modelBytes),
      featureSet: 'flights-v1',
      trainingRunId: result.runId,
      datasetUri: DATASET_URI,
      datasetSha256: sha256(dataset),
      params: { ...DEFAULT_LOGISTIC_REGRESSION_PARAMS, seed: 7 },
      createdBy: 'alice',
    });
    expect(result.runId).toMatch(/^run-[0-9a-f]{16}$/);
    expect(result.version.metrics).toMatchObject({
      rowsUsed: 1_500,
      rowsRejected: 0,
      train: { auc: expect.any(Number) },
      test: { auc: expect.any(Number) },
    });
  });

  it('writes the registered metrics to metrics.json and the lineage into the model card', async () => {
    // Prepare
    const { ports, artifacts } = fakePorts({ [DATASET_URI]: jsonArray(rows) });

    // Act
    const result = await trainAndRegister(request(), ports);

    // Assess
    const metrics = JSON.parse(String(artifacts.get('models/flight-delay/1/metrics.json')?.body));
    expect(metrics).toEqual(result.version.metrics);
    const card = String(artifacts.get('models/flight-delay/1/card.md')?.body);
    expect(card).toContain('# Model card: flight-delay v1');
    expect(card).toContain(`run: \`${result.runId}\``);
    expect(card).toContain(`artifact sha256: \`${result.version.artifactSha256}\``);
    expect(card).toContain(`sha256: \`${result.version.datasetSha256}\``);
  });

  it('writes an artifact that names its model and feature set in its metadata', async () => {
    // Prepare
    const { ports, artifacts } = fakePorts({ [DATASET_URI]: jsonArray(rows) });

    // Act
    await trainAndRegister(request(), ports);

    // Assess
    const metadata = readModelMetadata(artifacts.get('models/flight-delay/1/model.onnx')?.body as Uint8Array);
    expect(metadata[MODEL_METADATA_KEYS.modelName]).toBe('flight-delay');
    expect(metadata[MODEL_METADATA_KEYS.featureSet]).toBe('flights-v1');
    expect(metadata[MODEL_METADATA_KEYS.threshold]).toBe('0.5');
  });

  it('gives the same input the same run id, version and artifact bytes when run twice', async () => {
    // Prepare
    const { ports, artifacts, registry } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    const first = await trainAndRegister(request({ seed: 3 }), ports);
    const firstBytes = artifacts.get('models/flight-delay/1/model.onnx')?.body;

    // Act
    const second = await trainAndRegister(request({ seed: 3 }), ports);

    // Assess
    expect(second.runId).toBe(first.runId);
    expect(second.version.version).toBe(first.version.version);
    expect(artifacts.get('models/flight-delay/1/model.onnx')?.body).toEqual(firstBytes);
    expect(second.version.artifactSha256).toBe(first.version.artifactSha256);
    expect(registry.versions.size).toBe(1);
  });

  it('returns the registered version of a retried run without training or writing again', async () => {
    // Prepare
    const { ports, registry, writes, logs } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    const first = await trainAndRegister(request({ runId: 'nightly' }), ports);
    writes.length = 0;
    logs.length = 0;

    // Act
    const again = await trainAndRegister(request({ runId: 'nightly' }), ports);

    // Assess
    expect(again.version).toEqual(first.version);
    expect(again.rows).toEqual(first.rows);
    expect(writes).toEqual([]);
    expect(logs.map((l) => l.message)).toEqual(['already registered']);
    expect(registry.versions.size).toBe(1);
  });

  it('treats params given in another order or left at their defaults as the same run', async () => {
    // Prepare
    const { ports, writes } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    const { l2, maxIterations } = DEFAULT_LOGISTIC_REGRESSION_PARAMS;
    const first = await trainAndRegister(request({ runId: 'r', params: { l2, maxIterations } }), ports);
    writes.length = 0;

    // Act
    const again = await trainAndRegister(request({ runId: 'r', params: { maxIterations } }), ports);

    // Assess
    expect(again.version).toEqual(first.version);
    expect(writes).toEqual([]);
  });

  it.each([
    ['a different seed', { seed: 2 }, {}],
    ['different params', { params: { l2: 0.5 } }, {}],
    ['different data', {}, { datasetUri: 's3://data/datasets/other.json' }],
  ])(
    'fails with ConflictError, fitting and overwriting nothing, when a run id is reused with %s',
    async (_, changed, where) => {
      // Prepare
      const otherUri = 's3://data/datasets/other.json';
      const { ports, registry, artifacts, writes, logs } = fakePorts({
        [DATASET_URI]: jsonArray(rows),
        [otherUri]: jsonArray(flightRows(1_200)),
      });
      const first = await trainAndRegister(request({ runId: 'nightly', seed: 1 }), ports);
      writes.length = 0;
      logs.length = 0;

      // Act
      const outcome = trainAndRegister(request({ runId: 'nightly', seed: 1, ...changed, ...where }), ports);

      // Assess
      await expect(outcome).rejects.toThrow(ConflictError);
      await expect(outcome).rejects.toThrow(
        'run id "nightly" is already registered as flight-delay v1 with different inputs',
      );
      expect(writes).toEqual([]);
      expect(logs.map((l) => l.message)).not.toContain('training');
      expect(await registry.getVersion('flight-delay', 1)).toEqual(first.version);
      const modelBytes = artifacts.get('models/flight-delay/1/model.onnx')?.body as Uint8Array;
      expect(sha256(modelBytes)).toBe(first.version.artifactSha256);
    },
  );

  it('fails with ConflictError when a concurrent run with the same id and other inputs registered first', async () => {
    // Prepare: the other run registers between this run's registry check and its registration.
    const { ports, registry } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    const other = await trainAndRegister(request({ runId: 'nightly', seed: 1 }), ports);
    const getVersion = registry.getVersion.bind(registry);
    let checked = false;
    registry.getVersion = async (model, version) => {
      if (checked) return getVersion(model, version);
      checked = true;
      return undefined;
    };

    // Act
    const outcome = trainAndRegister(request({ runId: 'nightly', seed: 2 }), ports);

    // Assess
    await expect(outcome).rejects.toThrow(ConflictError);
    expect(await getVersion('flight-delay', 1)).toEqual(other.version);
  });

  it('completes a run retried after it wrote its artifacts but failed to register', async () => {
    // Prepare
    const { ports, registry, artifacts } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    const registerVersion = registry.registerVersion.bind(registry);
    registry.registerVersion = async () => {
      registry.registerVersion = registerVersion;
      throw new Error('registry unavailable');
    };
    await expect(trainAndRegister(request(), ports)).rejects.toThrow('registry unavailable');
    const writtenBytes = artifacts.get('models/flight-delay/1/model.onnx')?.body;
    expect(await registry.getVersion('flight-delay', 1)).toBeUndefined();

    // Act
    const retried = await trainAndRegister(request(), ports);

    // Assess
    expect(retried.version.version).toBe(1);
    const modelBytes = artifacts.get('models/flight-delay/1/model.onnx')?.body as Uint8Array;
    expect(modelBytes).toEqual(writtenBytes);
    expect(retried.version.artifactSha256).toBe(sha256(modelBytes));
    expect(registry.versions.size).toBe(1);
  });

  it('promotes an already registered version when a retry asks for promote', async () => {
    // Prepare
    const { ports, registry } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    await trainAndRegister(request(), ports);

    // Act
    const again = await trainAndRegister(request({ promote: true }), ports);

    // Assess
    expect(again.version.stage).toBe('Production');
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(1);
  });

  it('does not roll back a newer champion when a promoting run is retried', async () => {
    // Prepare
    const { ports, registry } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    await trainAndRegister(request({ seed: 1, promote: true }), ports);
    await trainAndRegister(request({ seed: 2, promote: true }), ports);

    // Act
    const retried = await trainAndRegister(request({ seed: 1, promote: true }), ports);

    // Assess
    expect(retried.version).toMatchObject({ version: 1, stage: 'Archived' });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(2);
  });

  it('derives a new run id, and so a new version, from a different seed', async () => {
    // Prepare
    const { ports } = fakePorts({ [DATASET_URI]: jsonArray(rows) });
    const first = await trainAndRegister(request({ seed: 1 }), ports);

    // Act
    const second = await trainAndRegister(request({ seed: 2 }), ports);

    // Assess
    expect(second.runId).not.toBe(first.runId);
    expect(second.version.version).toBe(2);
  });

  it('uses an explicit run id as given', async () => {
    // Prepare
    const { ports } = fakePorts({ [DATASET_URI]: jsonArray(rows) });

    // Act
    const result = await trainAndRegister(request({ runId: 'nightly-2024-01-01' }), ports);

    // Assess
    expect(result.runId).toBe('nightly-2024-01-01');
    expect(result.version.trainingRunId).toBe('nightly-2024-01-01');
  });

  it('leaves the version in Staging unless promote is set', async () => {
    // Prepare
    const { ports, registry } = fakePorts({ [DATASET_URI]: jsonArray(rows) });

    // Act
    const result = await trainAndRegister(request(), ports);

    // Assess
    expect(result.version.stage).toBe('Staging');
    expect(await registry.getProductionVersion('flight-delay')).toBeUndefined();
  });

  it('promotes the new version to Production when promote is true', async () => {
    // Prepare
    const { ports, registry } = fakePorts({ [DATASET_URI]: jsonArray(rows) });

    // Act
    const result = await trainAndRegister(request({ promote: true }), ports);

    // Assess
    expect(result.version.stage).toBe('Production');
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(1);
  });

  it('counts rows that fail the feature schema or have no usable label as rejected', async () => {
    // Prepare
    const [row] = rows as [FlightRow];
    const bad = [
      { ...row, distance: -5 },
      { ...row, date: 'yesterday' },
      { ...row, origin: 'not an airport' },
      { ...row, gate: 'B12' },
      { ...row, delay: 'late' },
      { date: row.date, distance: row.distance, origin: row.origin, destination: row.destination },
    ];
    const { ports } = fakePorts({ [DATASET_URI]: jsonArray([...rows, ...bad]) });

    // Act
    const result = await trainAndRegister(request(), ports);

    // Assess
    expect(result.rows).toEqual({ used: 1_500, rejected: bad.length });
    expect(result.version.metrics).toMatchObject({ rowsUsed: 1_500, rowsRejected: bad.length });
  });

  it('fails with InvalidRequest, writing and registering nothing, when fewer than 100 rows are usable', async () => {
    // Prepare
    const few = [...rows.slice(0, 99), ...rows.slice(99, 300).map((row) => ({ ...row, distance: 0 }))];
    const { ports, artifacts, registry } = fakePorts({ [DATASET_URI]: jsonArray(few) });

    // Act
    const outcome = trainAndRegister(request(), ports);

    // Assess
    await expect(outcome).rejects.toThrow(InvalidRequest);
    await expect(outcome).rejects.toThrow('dataset has 99 usable rows; at least 100 are needed');
    expect(artifacts.size).toBe(0);
    expect(await registry.listModels()).toEqual([]);
  });

  it('fails with InvalidRequest for an unknown feature set before reading the dataset', async () => {
    // Prepare
    const { ports } = fakePorts({});

    // Act
    const outcome = trainAndRegister(request({ featureSet: 'flights-v9' }), ports);

    // Assess
    await expect(outcome).rejects.toThrow(InvalidRequest);
    await expect(outcome).rejects.toThrow('unknown feature set "flights-v9"');
  });

  it('fails with InvalidRequest for an unknown training param', async () => {
    // Prepare
    const { ports, registry } = fakePorts({ [DATASET_URI]: jsonArray(rows) });

    // Act
    const outcome = trainAndRegister(request({ params: { learningRate: 0.1 } }), ports);

    // Assess
    await expect(outcome).rejects.toThrow(InvalidRequest);
    await expect(outcome).rejects.toThrow(/unknown logistic regression params learningRate/);
    expect(await registry.listModels()).toEqual([]);
  });

  it('trains on a JSON Lines dataset as on the same rows as a JSON array', async () => {
    // Prepare
    const linesUri = 's3://data/datasets/flights.jsonl';
    const { ports } = fakePorts({ [DATASET_URI]: jsonArray(rows), [linesUri]: jsonLines(rows) });
    const fromArray = await trainAndRegister(request({ model: 'from-array' }), ports);

    // Act
    const fromLines = await trainAndRegister(request({ model: 'from-lines', datasetUri: linesUri }), ports);

    // Assess
    expect(fromLines.rows).toEqual({ used: 1_500, rejected: 0 });
    expect(fromLines.version.datasetUri).toBe(linesUri);
    expect(fromLines.version.metrics).toEqual(fromArray.version.metrics);
  });
});

describe('parseDataset', () => {
  it('reads JSON Lines, skipping blank lines', () => {
    // Prepare
    const text = '{"a":1}\n\n{"a":2}\r\n{"a":3}\n';

    // Act
    const parsed = parseDataset(new TextEncoder().encode(text));

    // Assess
    expect(parsed).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
  });

  it('reads a JSON array, keeping entries that are not objects for the caller to reject', () => {
    // Prepare
    const text = '  [{"a":1}, null, 3, [4], {"a":5}]  ';

    // Act
    const parsed = parseDataset(new TextEncoder().encode(text));

    // Assess
    expect(parsed).toEqual([{ a: 1 }, null, 3, [4], { a: 5 }]);
  });

  it('fails with InvalidRequest naming the line of bad JSON Lines', () => {
    expect(() => parseDataset(new TextEncoder().encode('{"a":1}\n{"a":\n'))).toThrow(
      /line 2 is not valid JSON/,
    );
    expect(() => parseDataset(new TextEncoder().encode('[{"a":1},'))).toThrow(InvalidRequest);
  });
});
