// A function version's configuration as the Lambda API shows it (GetFunctionConfiguration) and
// as its execution environments run it: each published version keeps its own snapshot, $LATEST
// the current one. Updates are validated here with the limits and messages of Lambda.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { InvalidParameterValueException } from './errors.ts';
import type { FunctionConfig } from './function-runtime.ts';

/** What the template says about a function beyond what its environments need. */
export interface FunctionMetadata {
  /** The handler setting, `file.export`. @default derived from `bundleFile` and `handlerName` */
  readonly handler?: string;
  /** @default '' */
  readonly description?: string;
  /** @default the Node.js major running the local platform, e.g. `nodejs20.x` */
  readonly runtime?: string;
  /** Execution role ARN. @default a local placeholder role */
  readonly role?: string;
  /** @default ['x86_64'] (CloudFormation's default) */
  readonly architectures?: readonly string[];
  /**
   * Digest of the function's template definition. When it differs from the one saved with the
   * local state, the template was deployed anew: $LATEST is the template's again.
   */
  readonly fingerprint?: string;
}

/** Where a version came from: the template (deployed), named by an alias only, or PublishVersion. */
export type VersionOrigin = 'latest' | 'template' | 'declared' | 'published';

/** One version's code and configuration (for $LATEST: the current ones). */
export interface VersionConfiguration {
  /** `$LATEST`, or the version number. */
  readonly version: string;
  readonly origin: VersionOrigin;
  readonly description: string;
  /** The function's own environment variables (Environment.Variables). */
  readonly variables: Readonly<Record<string, string>>;
  readonly handler: string;
  readonly runtime: string;
  readonly role: string;
  readonly architectures: readonly string[];
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** Folder the handler's file is resolved in (the code asset). */
  readonly codeRoot: string;
  /** Base64 SHA-256 of the code (the asset hash when the folder is a cdk.out asset). */
  readonly codeSha256: string;
  readonly codeSize: number;
  readonly revisionId: string;
  /** Lambda's format, e.g. `2026-11-02T10:15:00.000+0000`. */
  readonly lastModified: string;
  /**
   * Digest of the code and configuration PublishVersion compares: of $LATEST now, or of the
   * $LATEST a version was published from.
   */
  readonly contentSha: string;
}

/** The fields UpdateFunctionConfiguration changes here (others are refused by the API). */
export interface ConfigurationUpdate {
  /** Replaces every variable. */
  readonly variables?: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly memorySize?: number;
  readonly timeoutSeconds?: number;
  readonly handler?: string;
  readonly runtime?: string;
  readonly role?: string;
}

/** Lambda sets these itself; a function's configuration may not (AWS refuses them too). */
export const RESERVED_VARIABLES: ReadonlySet<string> = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);

/** Lambda's limit on all of a function's variables together (keys and values). */
export const VARIABLES_LIMIT_BYTES = 4 * 1024;
const VARIABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_]+$/;
const ROLE_ARN = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-/]+$/;
const LOCAL_ROLE = 'arn:aws:iam::000000000000:role/local-lambda-role';

/** Lambda's timestamp format (`LastModified`). */
export function lambdaTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

/** The handler file and export a configuration runs. */
export function handlerParts(handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  return { file: handler.slice(0, dot), exportName: handler.slice(dot + 1) };
}

/** `config` with the code and settings of version `c` (platform variables stay the function's). */
export function runtimeConfig(base: FunctionConfig, c: VersionConfiguration): FunctionConfig {
  const { file, exportName } = handlerParts(c.handler);
  const platform = base.platformEnvironment;
  return {
    ...base,
    // A version restored with older code runs from that code's folder.
    ...(platform?.LAMBDA_TASK_ROOT === undefined
      ? {}
      : { platformEnvironment: { ...platform, LAMBDA_TASK_ROOT: c.codeRoot } }),
    bundleFile: join(c.codeRoot, `${file}.js`),
    handlerName: exportName,
    environment: c.variables,
    memorySize: c.memorySize,
    timeoutSeconds: c.timeoutSeconds,
  };
}

/** $LATEST as the template (or a test) declares the function. */
export function initialConfiguration(
  config: FunctionConfig,
  meta: FunctionMetadata = {},
  now = new Date(),
): VersionConfiguration {
  const handler = meta.handler ?? `${basename(config.bundleFile, '.js')}.${config.handlerName}`;
  const { file } = handlerParts(handler);
  const suffix = `${sep}${file.split('/').join(sep)}.js`;
  const codeRoot = config.bundleFile.endsWith(suffix)
    ? config.bundleFile.slice(0, -suffix.length)
    : dirname(config.bundleFile);
  return withDigest({
    version: '$LATEST',
    origin: 'latest',
    description: meta.description ?? '',
    variables: { ...config.environment },
    handler,
    runtime: meta.runtime ?? `nodejs${process.versions.node.split('.')[0]}.x`,
    role: meta.role ?? LOCAL_ROLE,
    architectures: [...(meta.architectures ?? ['x86_64'])],
    memorySize: config.memorySize,
    timeoutSeconds: config.timeoutSeconds,
    codeRoot,
    ...codeIdentity(codeRoot, config.bundleFile),
    revisionId: randomUUID(),
    lastModified: lambdaTimestamp(now),
  });
}

/** $LATEST after an UpdateFunctionConfiguration: validated, with a new RevisionId. */
export function updatedConfiguration(
  current: VersionConfiguration,
  update: ConfigurationUpdate,
  now = new Date(),
): VersionConfiguration {
  if (update.variables !== undefined) checkVariables(update.variables);
  if (update.memorySize !== undefined) checkInteger('MemorySize', update.memorySize, 128, 10_240);
  if (update.timeoutSeconds !== undefined) checkInteger('Timeout', update.timeoutSeconds, 1, 900);
  if (update.description !== undefined && update.description.length > 256)
    throw new InvalidParameterValueException(
      `Description must be at most 256 characters (got ${update.description.length})`,
    );
  if (update.handler !== undefined && !/^[^\s]+\.[^\s.]+$/.test(update.handler))
    throw new InvalidParameterValueException(
      `Handler ${JSON.stringify(update.handler)} is not valid: give it as file.export, e.g. index.handler`,
    );
  if (update.handler !== undefined && update.handler.length > 128)
    throw new InvalidParameterValueException('Handler must be at most 128 characters');
  if (update.runtime !== undefined && !/^nodejs\d+\.x$/.test(update.runtime))
    throw new InvalidParameterValueException(
      `Runtime ${JSON.stringify(update.runtime)} cannot run locally: the local Lambda service runs Node.js functions only (nodejsNN.x)`,
    );
  if (update.role !== undefined && !ROLE_ARN.test(update.role))
    throw new InvalidParameterValueException(`Role ${JSON.stringify(update.role)} is not an IAM role ARN`);
  return withDigest({
    ...current,
    ...(update.variables === undefined ? {} : { variables: { ...update.variables } }),
    ...(update.description === undefined ? {} : { description: update.description }),
    ...(update.memorySize === undefined ? {} : { memorySize: update.memorySize }),
    ...(update.timeoutSeconds === undefined ? {} : { timeoutSeconds: update.timeoutSeconds }),
    ...(update.handler === undefined ? {} : { handler: update.handler }),
    ...(update.runtime === undefined ? {} : { runtime: update.runtime }),
    ...(update.role === undefined ? {} : { role: update.role }),
    revisionId: randomUUID(),
    lastModified: lambdaTimestamp(now),
  });
}

/** A version published from `latest` now: an immutable snapshot with its own RevisionId. */
export function versionSnapshot(
  latest: VersionConfiguration,
  version: string,
  origin: Exclude<VersionOrigin, 'latest'>,
  description: string | undefined,
  now = new Date(),
): VersionConfiguration {
  return {
    ...latest,
    version,
    origin,
    description: description ?? latest.description,
    revisionId: randomUUID(),
    lastModified: lambdaTimestamp(now),
  };
}

/** `c` with `contentSha` computed from what PublishVersion compares. */
function withDigest(c: Omit<VersionConfiguration, 'contentSha'>): VersionConfiguration {
  const variables = Object.keys(c.variables)
    .sort()
    .map((k) => [k, c.variables[k]]);
  const content = JSON.stringify([
    c.codeSha256,
    c.handler,
    c.runtime,
    c.role,
    c.architectures,
    c.memorySize,
    c.timeoutSeconds,
    c.description,
    variables,
  ]);
  return { ...c, contentSha: createHash('sha256').update(content).digest('base64') };
}

/**
 * The code's hash and size. A cdk.out asset folder is named by the hash of its content, so that
 * hash is the code's identity; otherwise the handler file's bytes are hashed.
 */
function codeIdentity(codeRoot: string, bundleFile: string): { codeSha256: string; codeSize: number } {
  let codeSize = 0;
  try {
    codeSize = statSync(bundleFile).size;
  } catch {
    // A function whose code is missing still has a configuration; invoking it fails.
  }
  const asset = /^asset\.([0-9a-f]{64})/.exec(basename(codeRoot));
  if (asset?.[1]) return { codeSha256: Buffer.from(asset[1], 'hex').toString('base64'), codeSize };
  let bytes: Buffer;
  try {
    bytes = readFileSync(bundleFile);
  } catch {
    bytes = Buffer.from(bundleFile);
  }
  return { codeSha256: createHash('sha256').update(bytes).digest('base64'), codeSize };
}

function checkVariables(variables: Readonly<Record<string, string>>): void {
  const reserved = Object.keys(variables).filter((k) => RESERVED_VARIABLES.has(k));
  if (reserved.length > 0)
    throw new InvalidParameterValueException(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  let size = 0;
  for (const [key, value] of Object.entries(variables)) {
    if (!VARIABLE_NAME.test(key))
      throw new InvalidParameterValueException(
        `Environment variable name ${JSON.stringify(key)} is not valid: it must start with a letter and hold at least two of [a-zA-Z0-9_]`,
      );
    if (typeof value !== 'string')
      throw new InvalidParameterValueException(`Environment variable ${key} must be a string`);
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (size > VARIABLES_LIMIT_BYTES)
    throw new InvalidParameterValueException(
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${size} bytes`,
    );
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new InvalidParameterValueException(
      `${field} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
}
