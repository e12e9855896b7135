// Registers a stack's Lambda functions, published versions and aliases (with their routing
// weights) with the local Lambda service.
import { join } from 'node:path';
import type { ResourceReport } from '../resource-support.ts';
import type { StackResolution } from '../stack-resolution.ts';
import { refOf } from '../template/cfn-template.ts';
import { type AssemblyStack, findAsset } from '../template/cloud-assembly.ts';
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
    const [file = 'index', handlerName = 'handler'] = String(p.Handler ?? 'index.handler').split('.');
    const functionName = resolution.physical.get(logicalId) ?? logicalId;
    const variables = resolve(
      (p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
    ) as Record<string, unknown>;
    lambda.addFunction({
      logicalId,
      functionName,
      bundleFile: join(asset.path, `${file}.js`),
      handlerName,
      environment: {
        ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
        ...wiring.sdkEnvironment,
        AWS_LAMBDA_FUNCTION_NAME: functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.MemorySize ?? 128),
        LAMBDA_TASK_ROOT: asset.path,
      },
      memorySize: Number(p.MemorySize ?? 128),
      timeoutSeconds: Number(p.Timeout ?? 3),
      logDir: wiring.logDir,
    });
    functions[logicalId] = functionName;
  }

  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Version') continue;
    const fn = resolution.physical.get(refOf(r.Properties?.FunctionName));
    if (fn && lambda.hasFunction(fn)) lambda.addVersion(fn, resolution.versionNumbers.get(logicalId) ?? '1');
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
    const known = new Set(resolution.versionNumbers.values());
    for (const { version } of additionalVersions) {
      if (!known.has(version)) {
        // Published by an earlier deploy: locally it exists, but with today's code and configuration.
        report.warnings.push(
          `${logicalId}: version ${version} is not in this template; locally it runs the current code and configuration`,
        );
      }
      lambda.addVersion(fn, version);
    }
    lambda.setAlias(String(p.Name), {
      functionName: fn,
      version: String(resolve(p.FunctionVersion)),
      additionalVersions,
    });
  }
  return functions;
}
