// Registers a stack's Lambda functions, published versions and aliases (with their routing
// weights) with the local Lambda service, each with a digest of its template definition so a
// restart can tell a new deploy (a changed template) from a plain restart.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ResourceReport } from '../resource-support.ts';
import type { StackResolution } from '../stack-resolution.ts';
import { refOf } from '../template/cfn-template.ts';
import { type AssemblyStack, findAsset } from '../template/cloud-assembly.ts';
import { handlerParts } from './function-configuration.ts';
import type { LambdaService } from './lambda-service.ts';

export interface FunctionWiring {
  readonly lambda: LambdaService;
  readonly resolution: StackResolution;
  readonly resolve: (value: unknown) => unknown;
  readonly report: ResourceReport;
  /** The SDK settings every function's environment gets (endpoints, credentials). */
  readonly sdkEnvironment: Readonly<Record<string, string>>;
  readonly logDir: string;
}

/** Add the stack's functions, versions and aliases; returns logical id → local function name. */
export function registerFunctions(stack: AssemblyStack, wiring: FunctionWiring): Record<string, string> {
  const { lambda, resolution, resolve, report } = wiring;
  const resources = stack.template.Resources ?? {};
  const functions: Record<string, string> = {};

  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || !report.emulated.includes(logicalId)) continue;
    const p = r.Properties ?? {};
    const asset = findAsset(stack, String((p.Code as { S3Key?: unknown } | undefined)?.S3Key ?? ''));
    if (!asset) {
      report.warnings.push(`${logicalId}: its code asset is not in cdk.out; not started`);
      continue;
    }
    const handler = String(p.Handler ?? 'index.handler');
    const { file, exportName: handlerName } = handlerParts(handler);
    const functionName = resolution.physical.get(logicalId) ?? logicalId;
    const variables = resolve(
      (p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
    ) as Record<string, unknown>;
    const description = text(resolve, p.Description);
    const runtime = text(resolve, p.Runtime);
    const role = text(resolve, p.Role);
    lambda.addFunction(
      {
        logicalId,
        functionName,
        bundleFile: join(asset.path, `${file}.js`),
        handlerName,
        environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
        platformEnvironment: {
          ...wiring.sdkEnvironment,
          AWS_LAMBDA_FUNCTION_NAME: functionName,
          LAMBDA_TASK_ROOT: asset.path,
        },
        memorySize: Number(p.MemorySize ?? 128),
        timeoutSeconds: Number(p.Timeout ?? 3),
        logDir: wiring.logDir,
      },
      {
        handler,
        ...(description === undefined ? {} : { description }),
        ...(runtime === undefined ? {} : { runtime }),
        ...(role === undefined ? {} : { role }),
        ...(Array.isArray(p.Architectures) ? { architectures: p.Architectures.map(String) } : {}),
        fingerprint: definitionDigest(r),
      },
    );
    functions[logicalId] = functionName;
  }

  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Version') continue;
    const fn = resolution.physical.get(refOf(r.Properties?.FunctionName));
    if (fn && lambda.hasFunction(fn))
      lambda.addVersion(fn, resolution.versionNumbers.get(logicalId) ?? '1', 'template');
  }

  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Alias') continue;
    const p = r.Properties ?? {};
    const fn = resolution.physical.get(refOf(p.FunctionName));
    if (!fn || !lambda.hasFunction(fn)) continue;
    const routing = p.RoutingConfig as
      | { AdditionalVersionWeights?: Array<{ FunctionVersion: unknown; FunctionWeight: number }> }
      | undefined;
    const additionalVersions = (routing?.AdditionalVersionWeights ?? []).map((w) => ({
      version: String(resolve(w.FunctionVersion)).split(':').pop() ?? '',
      weight: Number(w.FunctionWeight),
    }));
    const primary = String(resolve(p.FunctionVersion)).split(':').pop() ?? '';
    const description = text(resolve, p.Description);
    try {
      for (const version of [primary, ...additionalVersions.map((a) => a.version)]) {
        if (version === '$LATEST' || lambda.hasVersion(fn, version)) continue;
        // Published by an earlier deploy: locally it exists, but with today's code and configuration
        // (unless a version published locally under that number is restored from the saved state).
        report.warnings.push(
          `${logicalId}: version ${version} is not in this template; locally it runs the current code and configuration`,
        );
        lambda.addVersion(fn, version, 'declared');
      }
      lambda.setAlias(
        String(p.Name),
        { functionName: fn, version: primary, additionalVersions },
        {
          ...(description === undefined ? {} : { description }),
          fingerprint: definitionDigest(r),
        },
      );
    } catch (err) {
      report.warnings.push(`${logicalId}: alias not set up locally: ${(err as Error).message}`);
    }
  }
  return functions;
}

/** Digest of a resource's template definition: it changes when a new synth changes the resource. */
export function definitionDigest(resource: unknown): string {
  return createHash('sha256').update(JSON.stringify(resource)).digest('hex');
}

/** A string property as resolved, or undefined (shown by the Lambda API only: nothing fails on it). */
function text(resolve: (value: unknown) => unknown, value: unknown): string | undefined {
  try {
    const resolved = resolve(value);
    return typeof resolved === 'string' ? resolved : undefined;
  } catch {
    return undefined;
  }
}
