// Keeps `cdk.out` in step with the sources: the local runtime runs what `cdk synth` produces,
// and re-synthesizes only when something that shapes the template or a bundle changed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What a synth depends on: infra code, function code, ASL, layer builder, config, lockfile. */
const INPUTS = [
  'infra',
  'functions',
  'statemachines',
  'layers',
  'cdk.json',
  'package-lock.json',
  'package.json',
];
const STAMP = '.mlops-source-fingerprint';

function* files(root: string, path: string): Generator<string> {
  const full = join(root, path);
  if (!existsSync(full)) return;
  if (statSync(full).isFile()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(full).sort()) {
    if (entry === 'node_modules' || entry === 'build' || entry.startsWith('.')) continue;
    yield* files(root, join(path, entry));
  }
}

/** Hash of the synth inputs' paths and contents. */
export function sourceFingerprint(projectDir: string): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of files(projectDir, input))
      hash
        .update(relative(projectDir, join(projectDir, file)))
        .update('\0')
        .update(readFileSync(join(projectDir, file)));
  }
  return hash.digest('hex');
}

/** True when `cdkOut` was synthesized from the current sources. */
export function isSynthFresh(projectDir: string, cdkOut: string): boolean {
  const stamp = join(cdkOut, STAMP);
  return (
    existsSync(join(cdkOut, 'manifest.json')) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8') === sourceFingerprint(projectDir)
  );
}

/**
 * Run `cdk synth` into `cdkOut` unless it is fresh. CloudFormation's built-in template
 * validation is skipped here (cfn-lint checks templates in CI); cdk-nag still runs.
 */
export async function ensureSynth(
  projectDir: string,
  cdkOut: string,
  log: (line: string) => void,
): Promise<'reused' | 'synthesized'> {
  if (isSynthFresh(projectDir, cdkOut)) return 'reused';
  const fingerprint = sourceFingerprint(projectDir);
  log(`synthesizing the CDK app into ${relative(projectDir, cdkOut) || cdkOut} …`);
  const cdk = join(projectDir, 'node_modules', 'aws-cdk', 'bin', 'cdk');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cdk, 'synth', '--quiet', '--output', cdkOut], {
      cwd: projectDir,
      env: { ...process.env, CDK_VALIDATION: 'false', CDK_DISABLE_VERSION_CHECK: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`cdk synth failed (exit ${code}):\n${output.slice(-4000)}`)),
    );
  });
  writeFileSync(join(cdkOut, STAMP), fingerprint);
  return 'synthesized';
}
