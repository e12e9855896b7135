// Builds the onnxruntime-node Lambda layer from the installed npm package, keeping only the
// native binaries of the target platform: the package is ~290 MB with every platform, the
// linux-x64 part ~46 MB, under Lambda's 250 MB unzipped limit and our 60 MB budget.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Lambda CPU architectures and the Node.js `process.arch` each one needs. */
export type LayerArch = 'x64' | 'arm64';

const require = createRequire(import.meta.url);

/** Directory of an installed package: walk up from its entry point (some packages don't export package.json). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !dir.endsWith(name)) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = parent;
  }
  return dir;
}

/** Installed onnxruntime-node version, used as the layer asset's hash so synth skips rebuilding. */
export function onnxRuntimeVersion(): string {
  return (
    JSON.parse(readFileSync(join(packageDir('onnxruntime-node'), 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}

/**
 * Write the layer's content to `outputDir` (`nodejs/node_modules/...`, the path Lambda adds to
 * the module search path). Only the runtime files are copied: no install scripts' dependencies,
 * no TypeScript sources, no other platforms' binaries.
 */
export function buildOnnxRuntimeLayer(outputDir: string, arch: LayerArch): void {
  const modules = join(outputDir, 'nodejs', 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  const ortSource = packageDir('onnxruntime-node');
  const ortTarget = join(modules, 'onnxruntime-node');
  for (const entry of ['package.json', 'dist', 'LICENSE', 'README.md']) {
    const from = join(ortSource, entry);
    if (existsSync(from))
      cpSync(from, join(ortTarget, entry), { recursive: true, filter: (p) => !p.endsWith('.map') });
  }
  const binaries = join('bin', 'napi-v6', 'linux', arch);
  if (!existsSync(join(ortSource, binaries))) {
    throw new Error(`onnxruntime-node has no ${binaries} in ${ortSource}; reinstall it (npm ci)`);
  }
  mkdirSync(join(ortTarget, binaries), { recursive: true });
  cpSync(join(ortSource, binaries), join(ortTarget, binaries), { recursive: true });
  // onnxruntime-common is the only runtime dependency (adm-zip/global-agent serve the install script).
  const commonSource = packageDir('onnxruntime-common');
  cpSync(commonSource, join(modules, 'onnxruntime-common'), {
    recursive: true,
    filter: (p) => !p.endsWith('.map') && !p.includes(`${commonSource}/lib`),
  });
}
