// The onnxruntime-node Lambda layer, built from the installed npm package and pruned to the
// function's platform. Built locally (no Docker) and hashed by version, so synth copies the
// ~46 MB once and then reuses the staged asset.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { buildOnnxRuntimeLayer, onnxRuntimeVersion } from '../../layers/onnxruntime/build-layer.ts';

export interface OnnxRuntimeLayerProps {
  /**
   * CPU architecture of the functions that use the layer; only its binaries are shipped.
   * @default lambda.Architecture.X86_64
   */
  readonly architecture?: lambda.Architecture;
}

/** Short hash of the layer builder's source, so a change to how the layer is pruned rebuilds it. */
function builderFingerprint(): string {
  const source = readFileSync(
    fileURLToPath(new URL('../../layers/onnxruntime/build-layer.ts', import.meta.url)),
  );
  return createHash('sha256').update(source).digest('hex').slice(0, 12);
}

/** The layer's source folder; its content is built by `buildOnnxRuntimeLayer`, not copied. */
const LAYER_SOURCE_DIR = fileURLToPath(new URL('../../layers/onnxruntime/', import.meta.url));

/** A LayerVersion carrying `onnxruntime-node` for one Lambda architecture. */
export class OnnxRuntimeLayer extends Construct {
  /** The module name functions must leave out of their bundles (the layer provides it). */
  static readonly moduleName = 'onnxruntime-node';

  readonly layer: lambda.LayerVersion;
  readonly architecture: lambda.Architecture;

  constructor(scope: Construct, id: string, props: OnnxRuntimeLayerProps = {}) {
    super(scope, id);
    this.architecture = props.architecture ?? lambda.Architecture.X86_64;
    const arch = this.architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x64';
    const version = onnxRuntimeVersion();
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: `onnxruntime-node ${version} for linux-${arch}`,
      compatibleArchitectures: [this.architecture],
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      code: lambda.Code.fromAsset(LAYER_SOURCE_DIR, {
        assetHashType: AssetHashType.CUSTOM,
        // The layer changes when the package version or the way it is built changes.
        assetHash: `onnxruntime-node-${version}-linux-${arch}-${builderFingerprint()}`,
        bundling: {
          // Never used: local bundling always succeeds where the npm package is installed.
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24'),
          local: {
            tryBundle(outputDir: string) {
              buildOnnxRuntimeLayer(outputDir, arch);
              return true;
            },
          },
        },
      }),
    });
  }
}
