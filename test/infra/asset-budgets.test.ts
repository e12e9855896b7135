// Size budgets (DESIGN.md): the onnxruntime layer under 60 MB unzipped, each function bundle
// under 1 MB, checked on the cloud assembly `cdk synth` produced (test/support/global-setup.ts).
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assetForS3Key, loadCloudAssembly } from '../../local/template/cloud-assembly.ts';

const MB = 1024 * 1024;
const assembly = loadCloudAssembly(fileURLToPath(new URL('../../cdk.out', import.meta.url)));
const stack = assembly.stacks.find((s) => s.stackName === 'MlopsStack');
const resources = Object.values(stack?.template.Resources ?? {});

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

function assetOf(code: unknown): string {
  if (!stack) throw new Error('no MlopsStack in cdk.out');
  return assetForS3Key(stack, String((code as { S3Key?: unknown }).S3Key ?? '')).path;
}

const layerDir = assetOf(
  resources.find(
    (r) =>
      r.Type === 'AWS::Lambda::LayerVersion' &&
      String(r.Properties?.Description).startsWith('onnxruntime-node'),
  )?.Properties?.Content,
);
const nodeFunctions = resources.filter(
  (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Runtime).startsWith('nodejs'),
);

describe('asset budgets', () => {
  it('keeps the onnxruntime layer under 60 MB unzipped', () => {
    expect(sizeOf(layerDir) / MB).toBeLessThan(60);
  });

  it('ships only the linux-x64 onnxruntime binaries', () => {
    const platforms = join(layerDir, 'nodejs/node_modules/onnxruntime-node/bin/napi-v6');
    expect(readdirSync(platforms)).toEqual(['linux']);
    expect(readdirSync(join(platforms, 'linux'))).toEqual(['x64']);
  });

  it('keeps every function bundle under 1 MB', () => {
    expect(nodeFunctions.length).toBeGreaterThanOrEqual(2);
    for (const fn of nodeFunctions) {
      const bundle = join(assetOf(fn.Properties?.Code), 'index.js');
      expect(sizeOf(bundle) / MB, String(fn.Properties?.Description)).toBeLessThan(1);
    }
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')(
    'serves a model from the pruned layer alone',
    async () => {
      // Load by path: Lambda puts /opt/nodejs/node_modules on the search path, the layer has nothing else.
      const modules = join(layerDir, 'nodejs/node_modules');
      const ort = createRequire(import.meta.url)(
        join(modules, 'onnxruntime-node'),
      ) as typeof import('onnxruntime-node');
      expect(readdirSync(modules).sort()).toEqual(['onnxruntime-common', 'onnxruntime-node']);
      const { exportLogisticRegression } = await import(
        '../../functions/lib/onnx/export-logistic-regression.ts'
      );
      const bytes = exportLogisticRegression(
        { mean: [0], scale: [1], weights: [2], intercept: -1, iterations: 1, converged: true },
        { featureNames: ['x'] },
      );
      const session = await ort.InferenceSession.create(bytes);
      const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from([1]), [1, 1]) });
      expect((out.probabilities!.data as Float32Array)[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 5);
    },
  );
});
