// The predict use case with in-memory ports: a one-feature FeatureSet whose encoding is the
// value itself, and a model whose score is its input, so every label is predictable by hand.
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { InvalidRequest, ModelNotFound, NotConfigured } from '../../../../functions/lib/errors.ts';
import type { FeatureSet } from '../../../../functions/lib/features/feature-set.ts';
import type { ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import type { PredictRequest } from '../../../../functions/lib/schemas/predict-request.ts';
import type { LoadedModel } from '../../../../functions/lib/serving/loaded-model.ts';
import { type PredictPorts, predict } from '../../../../functions/predict/core.ts';

interface Instance {
  readonly x: number;
  readonly tag: string;
}

interface Encoding {
  readonly offset: number;
}

/** Encodes each instance as `x + offset`; `tag` is trimmed by the schema, as real schemas normalise. */
const fakeFeatureSet = {
  name: 'fake-v1',
  instanceSchema: z.strictObject({ x: z.number().min(0).max(1), tag: z.string().trim().min(1) }),
  fit: () => ({ offset: 0 }),
  featureNames: () => ['x'],
  encode: vi.fn((rows: readonly Instance[], encoding: Encoding) =>
    Float32Array.from(rows, (r) => r.x + encoding.offset),
  ),
} satisfies FeatureSet<Instance, Encoding>;

const servingVersion = { model: 'fake', version: 3, artifactSha256: 'a'.repeat(64) } as ModelVersion;

/** Ports whose model scores each row with its encoded value. */
function fakePorts(options: { threshold?: number; encoding?: Encoding } = {}) {
  const score = vi.fn(async (features: Float32Array, rows: number) => features.slice(0, rows));
  const model: LoadedModel = {
    version: servingVersion,
    featureSet: fakeFeatureSet as FeatureSet,
    encoding: options.encoding ?? { offset: 0 },
    threshold: options.threshold ?? 0.5,
    score,
  };
  const ports = {
    resolveVersion: vi.fn(async (_model: string) => servingVersion),
    loadModel: vi.fn(async (_version: ModelVersion) => model),
  } satisfies PredictPorts;
  return { ports, score };
}

const instancesRequest = (instances: Record<string, unknown>[]): PredictRequest => ({
  model: 'fake',
  kind: 'instances',
  instances,
});

async function invalidRequestFrom(promise: Promise<unknown>): Promise<InvalidRequest> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof InvalidRequest)) throw new Error(`expected InvalidRequest, got ${String(err)}`);
  return err;
}

describe('predict', () => {
  it('scores the instances with the resolved version and reports model and version', async () => {
    // Prepare
    const { ports } = fakePorts();

    // Act
    const result = await predict(instancesRequest([{ x: 0.25, tag: 'a' }]), ports);

    // Assess
    expect(ports.resolveVersion).toHaveBeenCalledWith('fake');
    expect(ports.loadModel).toHaveBeenCalledWith(servingVersion);
    expect(result).toEqual({ model: 'fake', version: 3, predictions: [{ score: 0.25, label: 0 }] });
  });

  it('labels a score at or above the threshold positive and below it negative', async () => {
    // Prepare
    const { ports } = fakePorts({ threshold: 0.5 });
    const xs = [0, 0.25, 0.5, 0.75, 1];

    // Act
    const { predictions } = await predict(instancesRequest(xs.map((x) => ({ x, tag: 't' }))), ports);

    // Assess
    expect(predictions.map((p) => p.label)).toEqual([0, 0, 1, 1, 1]);
    expect(predictions.map((p) => p.score)).toEqual(xs);
  });

  it("uses the model's own threshold rather than 0.5", async () => {
    // Prepare
    const { ports } = fakePorts({ threshold: 0.8 });

    // Act
    const { predictions } = await predict(
      instancesRequest([
        { x: 0.75, tag: 't' },
        { x: 1, tag: 't' },
      ]),
      ports,
    );

    // Assess
    expect(predictions.map((p) => p.label)).toEqual([0, 1]);
  });

  it("encodes the schema's parsed instances with the model's encoding", async () => {
    // Prepare
    const { ports, score } = fakePorts({ encoding: { offset: 0.125 } });
    fakeFeatureSet.encode.mockClear();

    // Act
    const { predictions } = await predict(instancesRequest([{ x: 0.25, tag: '  padded  ' }]), ports);

    // Assess
    expect(fakeFeatureSet.encode).toHaveBeenCalledWith([{ x: 0.25, tag: 'padded' }], { offset: 0.125 });
    expect(score).toHaveBeenCalledWith(Float32Array.from([0.375]), 1);
    expect(predictions).toEqual([{ score: 0.375, label: 0 }]);
  });

  it('refuses the whole request, naming each bad field by path, when any instance is invalid', async () => {
    // Prepare
    const { ports, score } = fakePorts();
    const instances = [
      { x: 0.5, tag: 'ok' },
      { x: 'high', tag: 'ok' },
      { x: 0.5, tag: 'ok', colour: 'red' },
      { tag: '' },
    ];

    // Act
    const err = await invalidRequestFrom(predict(instancesRequest(instances), ports));

    // Assess
    expect(err.message).toBe("3 of 4 instances do not match the model's features");
    expect(err.issues.map((i) => i.path)).toEqual([
      'instances.1.x',
      'instances.2.colour',
      'instances.3.x',
      'instances.3.tag',
    ]);
    expect(err.issues.find((i) => i.path === 'instances.2.colour')?.message).toBe('unknown field');
    expect(err.details).toEqual({ issues: err.issues });
    expect(score).not.toHaveBeenCalled();
  });

  it('caps the listed issues at 20 but counts every bad instance', async () => {
    // Prepare
    const { ports } = fakePorts();
    const instances = Array.from({ length: 30 }, () => ({ x: -1, tag: '' }));

    // Act
    const err = await invalidRequestFrom(predict(instancesRequest(instances), ports));

    // Assess
    expect(err.message).toBe("30 of 30 instances do not match the model's features");
    expect(err.issues).toHaveLength(20);
    expect(err.issues.slice(0, 4).map((i) => i.path)).toEqual([
      'instances.0.x',
      'instances.0.tag',
      'instances.1.x',
      'instances.1.tag',
    ]);
    expect(err.issues.at(-1)?.path).toBe('instances.9.tag');
  });

  it('refuses an entity request with NotConfigured before touching the registry or the model', async () => {
    // Prepare
    const { ports } = fakePorts();

    // Act
    const outcome = predict({ model: 'fake', kind: 'entity', entityId: 'x' }, ports);

    // Assess
    await expect(outcome).rejects.toThrow(NotConfigured);
    await expect(outcome).rejects.toThrow(/online feature store.*send "instances"/);
    expect(ports.resolveVersion).not.toHaveBeenCalled();
    expect(ports.loadModel).not.toHaveBeenCalled();
  });

  it('passes on ModelNotFound from version resolution without loading anything', async () => {
    // Prepare
    const { ports } = fakePorts();
    ports.resolveVersion.mockRejectedValueOnce(new ModelNotFound('no model named "fake" is registered'));

    // Act
    const outcome = predict(instancesRequest([{ x: 0.5, tag: 't' }]), ports);

    // Assess
    await expect(outcome).rejects.toThrow(ModelNotFound);
    expect(ports.loadModel).not.toHaveBeenCalled();
  });
});
