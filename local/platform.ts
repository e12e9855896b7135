// Brings up the whole platform on 127.0.0.1 from the synthesized template (DESIGN.md parity
// rule): tables on dynalite, buckets on s3rver, functions in worker pools with the template's
// environment, the REST API with keys, throttles and alias weights, and the seed datasets.
// Whatever the template declares that has no local counterpart is reported by logical id.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { deployBucketAssets } from './bucket-deployment.ts';
import { localDynamoDbClient, startDynamoDb } from './emulators/dynamodb.ts';
import { ensureTablesFromTemplate } from './emulators/dynamodb-tables.ts';
import { localSdkEnv } from './emulators/local-aws.ts';
import { ensureBucketsFromTemplate, localS3Client, startS3 } from './emulators/s3.ts';
import { AccessLog } from './gateway/access-log.ts';
import { type RestApiModel, readRestApis } from './gateway/rest-api-model.ts';
import { createGatewayListener } from './gateway/server.ts';
import { LambdaService } from './lambda/lambda-service.ts';
import { classifyResources, type ResourceReport } from './resource-support.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, stackResolution } from './stack-resolution.ts';
import { loadCloudAssembly } from './template/cloud-assembly.ts';
import { resolveValue } from './template/intrinsics.ts';

export interface PlatformOptions {
  /** Folder of the synthesized cloud assembly. */
  readonly cdkOut: string;
  /** Persistent state: tables, objects, API keys, logs. */
  readonly dataDir: string;
  /** Gateway port; 0 picks a free one. */
  readonly port: number;
  readonly host?: string;
  /** Seed for alias weight draws (tests); random when absent. */
  readonly routingSeed?: number;
  readonly log?: (line: string) => void;
  /**
   * Replace every usage-plan and stage throttle (benchmarks measure capacity, not the limit).
   * The throttle check still runs on every request.
   */
  readonly throttleOverride?: { readonly rateLimit: number; readonly burstLimit: number };
}

export interface StackInfo {
  readonly stackName: string;
  readonly outputs: Record<string, string>;
  readonly tables: Record<string, string>;
  readonly buckets: Record<string, string>;
  readonly functions: Record<string, string>;
}

export interface Platform {
  readonly url: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly endpoints: { readonly s3: string; readonly dynamodb: string; readonly lambda: string };
  readonly stacks: readonly StackInfo[];
  readonly report: ResourceReport;
  readonly lambda: LambdaService;
  /** `local.json` content: how the CLI and scripts find this platform. */
  describe(): Record<string, unknown>;
  stop(): Promise<void>;
}

/** Small deterministic PRNG (mulberry32) for seeded routing draws. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** API key values are generated once per key and kept in the data folder, like AWS keeps them. */
function loadApiKeys(dataDir: string, keyIds: readonly string[]): Map<string, string> {
  const file = join(dataDir, 'api-keys.json');
  const stored: Record<string, string> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  let changed = false;
  for (const id of keyIds) {
    if (!stored[id]) {
      stored[id] = randomBytes(20).toString('hex');
      changed = true;
    }
  }
  if (changed) writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  return new Map(Object.entries(stored).map(([id, value]) => [id, value]));
}

function withThrottle(api: RestApiModel, throttle: { rateLimit: number; burstLimit: number }): RestApiModel {
  return {
    ...api,
    stageThrottle: throttle,
    keyThrottles: new Map([...api.keyThrottles.keys()].map((k) => [k, throttle])),
  };
}

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  const dataDir = resolve(options.dataDir);
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const assembly = loadCloudAssembly(resolve(options.cdkOut));

  const lambda = new LambdaService(
    options.routingSeed === undefined ? Math.random : seededRandom(options.routingSeed),
  );
  const server: Server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${options.port} on ${host} is in use: stop what holds it or set MLOPS_PORT`)
          : err,
      ),
    );
    server.listen(options.port, host, ok);
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://${host}:${port}`;
  const lambdaEndpoint = baseUrl;
  // The gateway port is taken first: a busy port fails before anything else starts.
  const dynamo = await startDynamoDb({ dataDir: join(dataDir, 'dynamodb'), port: 0, host: '127.0.0.1' });
  const s3 = await startS3({ dataDir: join(dataDir, 's3'), port: 0, host: '127.0.0.1' });

  const stacks: StackInfo[] = [];
  const apis: RestApiModel[] = [];
  const apiKeyIds: string[] = [];
  const reports: ResourceReport[] = [];
  const s3Client = localS3Client(s3.endpoint);
  const dynamoClient = localDynamoDbClient(dynamo.endpoint);

  for (const stack of assembly.stacks) {
    const resources = stack.template.Resources ?? {};
    const { physical, versionNumbers, ctx } = stackResolution(stack, s3.endpoint);
    const resolveIn = (value: unknown) => resolveValue(value, ctx);

    // Tables and buckets first: functions and the seed deployment need them.
    const tables = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable')
      .map(([logicalId, r]) => ({
        logicalId,
        tableName: physical.get(logicalId) ?? logicalId,
        properties: r.Properties ?? {},
      }));
    const tableWarnings = await ensureTablesFromTemplate(dynamoClient, tables);
    const buckets = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::S3::Bucket')
      .map(([logicalId, r]) => ({
        logicalId,
        bucketName: physical.get(logicalId) ?? logicalId,
        properties: r.Properties ?? {},
      }));
    const bucketWarnings = await ensureBucketsFromTemplate(s3Client, buckets);

    const report = classifyResources(stack.stackName, resources);
    report.warnings.push(...tableWarnings, ...bucketWarnings);
    reports.push(report);

    // Only the SDK's standard settings: handlers never ask "am I local?".
    const sdkEnvironment: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      ...localSdkEnv({ s3: s3.endpoint, dynamoDb: dynamo.endpoint }),
      AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint,
      // Node 20 is supported here; the SDK's notice about its future end of support is noise in logs.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    const functions: Record<string, string> = {};
    for (const [logicalId, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::Lambda::Function' || !report.emulated.includes(logicalId)) continue;
      const p = r.Properties ?? {};
      const code = p.Code as { S3Key?: unknown } | undefined;
      const asset = stack.assets.get(String(code?.S3Key ?? '').replace(/\.zip$/, ''));
      if (!asset) {
        report.warnings.push(`${logicalId}: its code asset is not in ${options.cdkOut}; not started`);
        continue;
      }
      const [file = 'index', handlerName = 'handler'] = String(p.Handler ?? 'index.handler').split('.');
      const functionName = physical.get(logicalId) ?? logicalId;
      const variables = resolveIn(
        (p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
      ) as Record<string, unknown>;
      lambda.addFunction({
        logicalId,
        functionName,
        bundleFile: join(asset.path, `${file}.js`),
        handlerName,
        environment: {
          ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
          ...sdkEnvironment,
          AWS_LAMBDA_FUNCTION_NAME: functionName,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.MemorySize ?? 128),
          LAMBDA_TASK_ROOT: asset.path,
        },
        memorySize: Number(p.MemorySize ?? 128),
        timeoutSeconds: Number(p.Timeout ?? 3),
        logDir: join(dataDir, 'logs'),
      });
      functions[logicalId] = functionName;
    }
    for (const [logicalId, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::Lambda::Version') continue;
      const fn = physical.get((r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref ?? '');
      if (fn && lambda.hasFunction(fn)) lambda.addVersion(fn, versionNumbers.get(logicalId) ?? '1');
    }
    for (const [logicalId, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::Lambda::Alias') continue;
      const p = r.Properties ?? {};
      const fn = physical.get((p.FunctionName as { Ref?: string } | undefined)?.Ref ?? '');
      if (!fn || !lambda.hasFunction(fn)) continue;
      const weights = (
        (
          p.RoutingConfig as
            | { AdditionalVersionWeights?: Array<{ FunctionVersion: unknown; FunctionWeight: number }> }
            | undefined
        )?.AdditionalVersionWeights ?? []
      ).map((w) => ({
        version: String(resolveIn(w.FunctionVersion)).split(':').pop() ?? '',
        weight: Number(w.FunctionWeight),
      }));
      for (const w of weights) {
        lambda.addVersion(fn, w.version); // a version published outside this template (an earlier deploy)
      }
      lambda.setAlias(String(p.Name), {
        functionName: fn,
        version: String(resolveIn(p.FunctionVersion)),
        additionalVersions: weights,
      });
      void logicalId;
    }

    report.warnings.push(...(await deployBucketAssets(stack, s3Client, resolveIn)));

    for (const api of readRestApis({ Resources: resources }, resolveIn))
      apis.push(options.throttleOverride ? withThrottle(api, options.throttleOverride) : api);
    for (const [id, r] of Object.entries(resources))
      if (r.Type === 'AWS::ApiGateway::ApiKey') apiKeyIds.push(id);

    const outputs: Record<string, string> = {};
    for (const [key, output] of Object.entries(stack.template.Outputs ?? {})) {
      try {
        outputs[key] = String(resolveIn((output as { Value: unknown }).Value)).replace(
          /^https:\/\/[^/]+\.execute-api\.[^/]+\//,
          `${baseUrl}/`,
        );
      } catch (err) {
        report.warnings.push(`output ${key}: ${(err as Error).message}`);
      }
    }
    stacks.push({
      stackName: stack.stackName,
      outputs,
      tables: Object.fromEntries(tables.map((t) => [t.logicalId, t.tableName])),
      buckets: Object.fromEntries(buckets.map((b) => [b.logicalId, b.bucketName])),
      functions,
    });
  }

  const keys = loadApiKeys(dataDir, apiKeyIds);
  const apiKeysByValue = new Map(
    [...keys].filter(([id]) => apiKeyIds.includes(id)).map(([id, value]) => [value, id]),
  );
  const accessLog = new AccessLog(join(dataDir, 'logs', 'api-access.log'));
  server.on('request', createGatewayListener({ apis, apiKeys: apiKeysByValue, lambda, accessLog }));
  server.keepAliveTimeout = 65_000;

  const firstApi = apis[0];
  const url = firstApi ? `${baseUrl}/${firstApi.stageName}/` : `${baseUrl}/`;
  const apiKey = apiKeyIds[0] ? (keys.get(apiKeyIds[0]) ?? '') : '';
  const report: ResourceReport = {
    stackName: stacks.map((s) => s.stackName).join(','),
    emulated: reports.flatMap((r) => r.emulated),
    noLocalMeaning: reports.flatMap((r) => r.noLocalMeaning),
    notEmulated: reports.flatMap((r) => r.notEmulated),
    warnings: reports.flatMap((r) => r.warnings),
  };
  log(`platform up: ${url}`);

  return {
    url,
    baseUrl,
    apiKey,
    endpoints: { s3: s3.endpoint, dynamodb: dynamo.endpoint, lambda: lambdaEndpoint },
    stacks,
    report,
    lambda,
    describe: () => ({
      url,
      apiKey,
      region: LOCAL_REGION,
      endpoints: { s3: s3.endpoint, dynamodb: dynamo.endpoint, lambda: lambdaEndpoint },
      dataDir,
      stacks: Object.fromEntries(stacks.map((s) => [s.stackName, s])),
    }),
    async stop() {
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      await lambda.close();
      accessLog.close();
      await s3.stop();
      await dynamo.stop();
    },
  };
}
