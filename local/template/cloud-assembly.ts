// Reads a CDK cloud assembly (cdk.out): each stack's template and the local files behind its assets.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as z from 'zod';
import { type CfnTemplate, parseTemplate } from './cfn-template.ts';

/** A file asset of a stack: what the S3 object at `<hash>.<ext>` in the CDK assets bucket holds. */
export interface StackAsset {
  /** The asset hash: the S3 object key without its extension. */
  readonly hash: string;
  /** Absolute path of the asset: a directory when `packaging` is `zip`, else a file. */
  readonly path: string;
  /** `zip`: the directory is zipped on publish; `file`: the file is uploaded as is. */
  readonly packaging: 'file' | 'zip';
  /** The S3 object keys the asset is published under (e.g. `<hash>.zip`). */
  readonly objectKeys: readonly string[];
  /** The construct path CDK names the asset by, e.g. `PredictFn/Code`. */
  readonly displayName?: string;
}

/** One CloudFormation stack of the assembly. */
export interface AssemblyStack {
  /** The deployed stack name (may differ from the artifact id, e.g. inside a Stage). */
  readonly stackName: string;
  readonly artifactId: string;
  /** The construct path, e.g. `Dev/Core`. */
  readonly displayName: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
  /** File assets by hash. */
  readonly assets: ReadonlyMap<string, StackAsset>;
  /** Hashes of container image assets, which local cannot build: the runtime reports them. */
  readonly dockerImages: readonly string[];
  /** The environment the stack was synthesized for; absent parts were environment-agnostic. */
  readonly environment: { readonly account?: string; readonly region?: string };
}

/** A loaded cloud assembly; stacks of nested assemblies (CDK Stages) are flattened in. */
export interface CloudAssembly {
  /** Absolute path of the assembly directory. */
  readonly dir: string;
  readonly stacks: readonly AssemblyStack[];
}

const artifactSchema = z.looseObject({
  type: z.string(),
  environment: z.string().optional(),
  displayName: z.string().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  dependencies: z.array(z.string()).optional(),
});
const manifestSchema = z.looseObject({ artifacts: z.record(z.string(), artifactSchema).default({}) });
const stackPropertiesSchema = z.looseObject({ templateFile: z.string(), stackName: z.string().optional() });
const nestedAssemblyPropertiesSchema = z.looseObject({ directoryName: z.string() });
const assetManifestPropertiesSchema = z.looseObject({ file: z.string() });
const assetManifestSchema = z.looseObject({
  files: z
    .record(
      z.string(),
      z.looseObject({
        displayName: z.string().optional(),
        source: z.looseObject({ path: z.string(), packaging: z.enum(['file', 'zip']).default('file') }),
        destinations: z.record(z.string(), z.looseObject({ objectKey: z.string() })).default({}),
      }),
    )
    .default({}),
  dockerImages: z.record(z.string(), z.unknown()).default({}),
});

type Artifact = z.infer<typeof artifactSchema>;

/** Load `manifest.json` of the assembly at `cdkOutDir` with every stack's template and assets. */
export function loadCloudAssembly(cdkOutDir: string): CloudAssembly {
  const dir = resolve(cdkOutDir);
  return { dir, stacks: loadStacks(dir) };
}

function loadStacks(dir: string): AssemblyStack[] {
  const manifestFile = join(dir, 'manifest.json');
  const { artifacts } = parseJsonFile(manifestFile, manifestSchema, 'a cloud assembly manifest');
  const stacks: AssemblyStack[] = [];
  for (const [artifactId, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'cdk:cloud-assembly') {
      const props = parseWith(
        artifact.properties,
        nestedAssemblyPropertiesSchema,
        `${manifestFile}: ${artifactId}`,
      );
      stacks.push(...loadStacks(join(dir, props.directoryName)));
    } else if (artifact.type === 'aws:cloudformation:stack') {
      stacks.push(loadStack(dir, artifactId, artifact, artifacts, manifestFile));
    }
  }
  return stacks;
}

function loadStack(
  dir: string,
  artifactId: string,
  artifact: Artifact,
  artifacts: Record<string, Artifact>,
  manifestFile: string,
): AssemblyStack {
  const props = parseWith(artifact.properties, stackPropertiesSchema, `${manifestFile}: ${artifactId}`);
  const templateFile = join(dir, props.templateFile);
  const template = parseTemplate(readJson(templateFile), templateFile);
  const assets = new Map<string, StackAsset>();
  const dockerImages: string[] = [];
  // A stack's asset manifests are among the artifacts it depends on.
  for (const dependency of artifact.dependencies ?? []) {
    const dep = artifacts[dependency];
    if (dep?.type !== 'cdk:asset-manifest') continue;
    const file = join(
      dir,
      parseWith(dep.properties, assetManifestPropertiesSchema, `${manifestFile}: ${dependency}`).file,
    );
    const manifest = parseJsonFile(file, assetManifestSchema, 'an asset manifest');
    for (const [hash, entry] of Object.entries(manifest.files)) {
      assets.set(hash, {
        hash,
        // Relative to the asset manifest; resolve() also keeps the absolute paths of unstaged assets.
        path: resolve(dirname(file), entry.source.path),
        packaging: entry.source.packaging,
        objectKeys: [...new Set(Object.values(entry.destinations).map((d) => d.objectKey))],
        displayName: entry.displayName,
      });
    }
    dockerImages.push(...Object.keys(manifest.dockerImages));
  }
  return {
    stackName: props.stackName ?? artifactId,
    artifactId,
    displayName: artifact.displayName ?? artifactId,
    templateFile,
    template,
    assets,
    dockerImages,
    environment: parseEnvironment(artifact.environment),
  };
}

/** `aws://123456789012/eu-west-1`; `unknown-account`/`unknown-region` mean environment-agnostic. */
function parseEnvironment(environment: string | undefined): AssemblyStack['environment'] {
  const match = /^aws:\/\/([^/]+)\/([^/]+)$/.exec(environment ?? '');
  const account = match?.[1];
  const region = match?.[2];
  return {
    ...(account && account !== 'unknown-account' ? { account } : {}),
    ...(region && region !== 'unknown-region' ? { region } : {}),
  };
}

/**
 * The asset behind an `S3Key` of the template (Lambda `Code.S3Key`, a layer's `Content.S3Key`,
 * a BucketDeployment's `SourceObjectKeys`): `<hash>.zip` → the staged `asset.<hash>` directory.
 * Throws naming the key and stack when the assembly has no such asset.
 */
export function assetForS3Key(stack: AssemblyStack, s3Key: string): StackAsset {
  const asset = findAsset(stack, s3Key);
  if (asset) return asset;
  throw new Error(
    `stack ${stack.stackName} has no asset for S3 key "${s3Key}" (is cdk.out from another synth?)`,
  );
}

/** The asset published under `s3Key` (e.g. `<hash>.zip`), or undefined when cdk.out lacks it. */
export function findAsset(stack: AssemblyStack, s3Key: string): StackAsset | undefined {
  for (const asset of stack.assets.values()) {
    if (asset.objectKeys.includes(s3Key)) return asset;
  }
  return stack.assets.get(s3Key.replace(/\.[^./]*$/, ''));
}

/** The stack named `stackName` (or with that artifact id); throws listing the stacks there are. */
export function findStack(assembly: CloudAssembly, stackName: string): AssemblyStack {
  const stack = assembly.stacks.find((s) => s.stackName === stackName || s.artifactId === stackName);
  if (stack) return stack;
  const names = assembly.stacks.map((s) => s.stackName).join(', ') || 'none';
  throw new Error(`no stack "${stackName}" in ${assembly.dir} (stacks: ${names})`);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message} (run \`npm run synth\` first?)`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function parseJsonFile<T extends z.ZodType>(file: string, schema: T, what: string): z.infer<T> {
  return parseWith(readJson(file), schema, `${file} (${what})`);
}

function parseWith<T extends z.ZodType>(value: unknown, schema: T, source: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new Error(`${source}: ${problems}`);
}
