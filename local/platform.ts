// Brings up the whole platform on 127.0.0.1 from the synthesized template (DESIGN.md parity
// rule): tables on dynalite, buckets on s3rver, functions in worker pools with the template's
// environment, the REST API with keys, throttles and alias weights, the state machines (and
// the SNS topics their tasks publish to), the EventBridge rules S3 object events are routed
// to and the schedule rules that fire on timers, and the seed datasets.
// Whatever the template declares that has no local counterpart is reported by logical id.
import { mkdirSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { seededRandom } from '../functions/lib/random.ts';
import { loadApiKeys } from './api-keys.ts';
import { deployBucketAssets } from './bucket-deployment.ts';
import { readAlarms } from './cloudwatch/alarm-definitions.ts';
import { LocalCloudWatch } from './cloudwatch/local-cloudwatch.ts';
import { deploymentGroupsFromTemplate } from './codedeploy/code-deploy-api.ts';
import { localDynamoDbClient, startDynamoDb } from './emulators/dynamodb.ts';
import { ensureTablesFromTemplate } from './emulators/dynamodb-tables.ts';
import { localSdkEnv } from './emulators/local-aws.ts';
import { ensureBucketsFromTemplate, localS3Client, onObjectEvent, startS3 } from './emulators/s3.ts';
import { LocalEventRouter } from './events/event-router.ts';
import { readEventRules } from './events/event-rules.ts';
import { eventBridgeBuckets } from './events/s3-event-source.ts';
import type { ScheduleSettings } from './events/scheduler.ts';
import { LocalFirehose, readDeliveryStreams, readSubscriptionFilters } from './firehose/local-firehose.ts';
import { AccessLog } from './gateway/access-log.ts';
import { type RestApiModel, readRestApiSetup } from './gateway/rest-api-model.ts';
import { createGatewayListener } from './gateway/server.ts';
import { describeAliasChange } from './lambda/alias-routing.ts';
import { registerFunctions } from './lambda/from-template.ts';
import { LambdaService } from './lambda/lambda-service.ts';
import { classifyResources, markNotEmulated, type ResourceReport } from './resource-support.ts';
import { localTrainingJob, SAGEMAKER_TRAINING_SYNC } from './sagemaker/training-job.ts';
import { LocalTopics, readTopics, SNS_PUBLISH_RESOURCE } from './sns/local-topics.ts';
import { stackResolution } from './stack-resolution.ts';
import { LocalStepFunctions } from './stepfunctions/local-step-functions.ts';
import { nestedExecutionIntegrations } from './stepfunctions/nested-execution.ts';
import { s3ItemSource } from './stepfunctions/s3-item-source.ts';
import type { TaskIntegration } from './stepfunctions/task-handlers.ts';
import { readStateMachines } from './stepfunctions/template-state-machines.ts';
import { loadCloudAssembly } from './template/cloud-assembly.ts';
import { resolveValue } from './template/intrinsics.ts';
import { DEFAULT_LOCAL_REGION } from './template/pseudo-parameters.ts';

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
  /** Passed to the Step Functions engine (see LocalStepFunctionsOptions). */
  readonly stepFunctions?: {
    /** Pause before every Retry, in ms, instead of the ASL's intervals (tests). */
    readonly retryDelayMs?: number;
    /**
     * Task integrations by Resource ARN, e.g. `arn:aws:states:::sagemaker:createTrainingJob.sync`;
     * a function is given the platform's endpoints first (an integration may need S3).
     */
    readonly integrations?:
      | Readonly<Record<string, TaskIntegration>>
      | ((host: IntegrationHost) => Readonly<Record<string, TaskIntegration>>);
  };
  /**
   * How EventBridge schedule rules fire: on timers in real time, faster (`speed`), or only when
   * asked (`mode: 'manual'`, then `platform.events.runSchedule(rule)`).
   * @default { mode: 'timers', speed: 1 }
   */
  readonly schedules?: ScheduleSettings;
  /** How often alarms are evaluated (also soon after each new datapoint). @default 2000 ms */
  readonly alarmEvaluationIntervalMs?: number;
}

/** What a task integration may use of the platform it runs in. */
export interface IntegrationHost {
  readonly endpoints: Platform['endpoints'];
  readonly dataDir: string;
  readonly lambda: LambdaService;
}

export interface StackInfo {
  readonly stackName: string;
  readonly outputs: Record<string, string>;
  readonly tables: Record<string, string>;
  readonly buckets: Record<string, string>;
  readonly functions: Record<string, string>;
  /** Logical id → state machine ARN. */
  readonly stateMachines: Record<string, string>;
  /** Logical id → topic ARN. */
  readonly topics: Record<string, string>;
  /** Logical id → name of each EventBridge rule routed locally. */
  readonly rules: Record<string, string>;
  /** Logical id → name of each CloudWatch alarm evaluated locally. */
  readonly alarms: Record<string, string>;
}

export interface Platform {
  readonly url: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly endpoints: {
    readonly s3: string;
    readonly dynamodb: string;
    readonly lambda: string;
    readonly sfn: string;
    readonly cloudwatch: string;
  };
  readonly stacks: readonly StackInfo[];
  readonly report: ResourceReport;
  readonly lambda: LambdaService;
  /** The state machines and their executions (served on `endpoints.sfn`). */
  readonly stepFunctions: LocalStepFunctions;
  /** The SNS topics: messages land in `<dataDir>/sns/<topic>.jsonl`. */
  readonly sns: LocalTopics;
  /**
   * CloudWatch (served on `endpoints.cloudwatch`): the metric store the gateway, Lambda, Step
   * Functions and the functions' embedded metrics write to, and the template's alarms
   * (`alarms()`, `putMetric()`, `evaluateNow()`, `waitForAlarmState()`, `alarmHistory()`).
   */
  readonly cloudwatch: LocalCloudWatch;
  /** Firehose delivery streams (inference capture): `flush()`, `injectFault()`, `stats()`. */
  readonly firehose: LocalFirehose;
  /**
   * EventBridge: the event-pattern rules, S3 "Object Created" events of EventBridge-enabled
   * buckets routed to them, the schedule rules (`runSchedule(rule)` fires one now,
   * `upcomingSchedules()`), and what each delivery started (`executionsFor(key)`,
   * `deliveries({ rule })`, `replay`, `waitForIdle`).
   */
  readonly events: LocalEventRouter;
  /** `local.json` content: how the CLI and scripts find this platform. */
  describe(): Record<string, unknown>;
  stop(): Promise<void>;
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
    { log },
  );
  lambda.onAliasChange((change) => log(describeAliasChange(change)));
  // The listener is attached before the port opens: requests that arrive while the platform
  // starts get a clear 503 instead of hanging.
  let listener: RequestListener = (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(
      JSON.stringify({
        error: { code: 'STARTING', message: 'the local platform is starting; retry in a moment' },
      }),
    );
  };
  const server: Server = createServer((req, res) => listener(req, res));
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
  const cleanups: Array<() => Promise<void> | void> = [
    () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  ];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    return await bringUp();
  } catch (err) {
    await stopAll();
    throw err;
  }

  async function bringUp(): Promise<Platform> {
    const port = (server.address() as AddressInfo).port;
    const baseUrl = `http://${host}:${port}`;
    const lambdaEndpoint = baseUrl;
    // The gateway port is taken first: a busy port fails before anything else starts.
    const dynamo = await startDynamoDb({ dataDir: join(dataDir, 'dynamodb'), port: 0, host: '127.0.0.1' });
    cleanups.push(() => dynamo.stop());
    const s3 = await startS3({ dataDir: join(dataDir, 's3'), port: 0, host: '127.0.0.1' });
    cleanups.push(() => s3.stop());
    // Delivery streams (inference capture). Closed after the functions, which hand over their
    // buffered log lines when they stop, and before S3: nothing captured is lost on Ctrl-C.
    const firehose = new LocalFirehose({ log, spillDir: join(dataDir, 'firehose') });
    cleanups.push(() => firehose.close());
    cleanups.push(() => lambda.close());

    const stacks: StackInfo[] = [];
    const apis: RestApiModel[] = [];
    // CodeDeploy applications → deployment groups of every stack (the guard of model releases asks).
    const deploymentGroups = new Map<string, Set<string>>();
    const apiKeyIds: string[] = [];
    const explicitKeys = new Map<string, string>();
    const reports: ResourceReport[] = [];
    const s3Client = localS3Client(s3.endpoint);
    const dynamoClient = localDynamoDbClient(dynamo.endpoint);
    const sns = new LocalTopics({ dataDir, log });
    // Alarm notifications go to the local topics; metrics come from every part and function.
    const cloudwatch = new LocalCloudWatch({
      log,
      dataDir,
      ...(options.alarmEvaluationIntervalMs === undefined
        ? {}
        : { evaluationIntervalMs: options.alarmEvaluationIntervalMs }),
      publish: (topicArn, message, subject) =>
        sns.publish({ TopicArn: topicArn, Message: message, Subject: subject }),
    });
    cloudwatch.attachTo(lambda);
    cleanups.push(() => cloudwatch.close());
    const endpoints = {
      s3: s3.endpoint,
      dynamodb: dynamo.endpoint,
      lambda: lambdaEndpoint,
      sfn: baseUrl,
      cloudwatch: baseUrl,
    };
    const integrations = options.stepFunctions?.integrations;
    // Tasks call functions only once an execution runs; by then every stack's functions are registered.
    const stepFunctions = new LocalStepFunctions({
      invokeLambda: (ref, event) => lambda.invoke(ref, event).then((r) => r.result),
      log,
      dataDir,
      metrics: cloudwatch.stepFunctionsMetrics(),
      // Distributed Map ItemReaders read with the batch Lambdas' own reader.
      readItems: s3ItemSource(s3Client),
      ...(options.stepFunctions?.retryDelayMs === undefined
        ? {}
        : { retryDelayMs: options.stepFunctions.retryDelayMs }),
      integrations: {
        [SNS_PUBLISH_RESOURCE]: sns.publishTask,
        // SageMaker is not emulated: its training jobs run the TypeScript trainer (logged as such).
        [SAGEMAKER_TRAINING_SYNC]: localTrainingJob({ s3: s3Client }),
        // Nested executions (`states:startExecution[.sync[:2]]`) run on this same engine.
        ...nestedExecutionIntegrations(() => stepFunctions),
        ...(typeof integrations === 'function' ? integrations({ endpoints, dataDir, lambda }) : integrations),
      },
    });
    cleanups.push(() => stepFunctions.close());
    const events = new LocalEventRouter({
      targets: {
        startExecution: (request) => stepFunctions.startExecution(request),
        invokeLambda: (ref, event) => lambda.invoke(ref, event).then((r) => r.result),
      },
      log,
      describeObject: async (bucket, key) => {
        const head = await s3Client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          ...(head.ContentLength === undefined ? {} : { size: head.ContentLength }),
          ...(head.ETag === undefined ? {} : { etag: head.ETag.replaceAll('"', '') }),
        };
      },
      ...(options.schedules === undefined ? {} : { schedules: options.schedules }),
    });
    // Closed before the engine: deliveries in flight still start their executions.
    cleanups.push(() => events.close());

    for (const stack of assembly.stacks) {
      const resources = stack.template.Resources ?? {};
      const resolution = stackResolution(stack, s3.endpoint);
      const { physical } = resolution;
      const resolveIn = (value: unknown) => resolveValue(value, resolution.ctx);

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
        AWS_REGION: DEFAULT_LOCAL_REGION,
        AWS_DEFAULT_REGION: DEFAULT_LOCAL_REGION,
        ...localSdkEnv({ s3: s3.endpoint, dynamoDb: dynamo.endpoint }),
        AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint,
        AWS_ENDPOINT_URL_SFN: baseUrl,
        AWS_ENDPOINT_URL_CLOUDWATCH: baseUrl,
        AWS_ENDPOINT_URL_CODEDEPLOY: baseUrl,
        // Node 20 is supported here; the SDK's notice about its future end of support is noise in logs.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };

      const functions = registerFunctions(stack, {
        lambda,
        resolution,
        resolve: resolveIn,
        report,
        sdkEnvironment,
        logDir: join(dataDir, 'logs'),
      });

      report.warnings.push(...(await deployBucketAssets(stack, s3Client, resolveIn)));

      const streams = readDeliveryStreams(stack, resolution);
      for (const spec of streams.streams) firehose.addStream(spec, s3Client);
      for (const { logicalId, reason } of streams.notEmulated)
        markNotEmulated(report, logicalId, 'AWS::KinesisFirehose::DeliveryStream', reason);
      report.warnings.push(...streams.warnings);
      const subscriptions = readSubscriptionFilters(stack, resolution);
      for (const filter of subscriptions.filters) {
        if (firehose.hasStream(filter.deliveryStreamName))
          lambda.addLogListener(firehose.subscriptionListener(filter));
        else
          markNotEmulated(
            report,
            filter.logicalId,
            'AWS::Logs::SubscriptionFilter',
            `destination stream ${filter.deliveryStreamName} is not running locally`,
          );
      }
      for (const { logicalId, reason } of subscriptions.notEmulated)
        markNotEmulated(report, logicalId, 'AWS::Logs::SubscriptionFilter', reason);
      report.warnings.push(...subscriptions.warnings);

      const topics = readTopics(stack, resolution, dataDir);
      report.warnings.push(...topics.warnings);
      const topicArns = Object.fromEntries(topics.topics.map((t) => [t.logicalId, sns.addTopic(t.name)]));
      const machines = readStateMachines(stack, resolution);
      report.warnings.push(...machines.warnings);
      const stateMachineArns: Record<string, string> = {};
      for (const spec of machines.machines) {
        try {
          report.warnings.push(...stepFunctions.addStateMachine(spec));
          stateMachineArns[spec.logicalId] = spec.arn;
        } catch (err) {
          report.warnings.push(
            `${spec.logicalId}: state machine cannot run locally: ${(err as Error).message}`,
          );
        }
      }

      const ruleReading = readEventRules(stack, resolution);
      for (const rule of ruleReading.rules) events.addRule(rule);
      for (const { logicalId, reason } of ruleReading.notEmulated)
        markNotEmulated(report, logicalId, 'AWS::Events::Rule', reason);
      report.warnings.push(...ruleReading.warnings);

      const alarmReading = readAlarms(stack, resolution);
      const alarmNames: Record<string, string> = {};
      for (const alarm of alarmReading.alarms) {
        try {
          cloudwatch.addAlarm(alarm);
          alarmNames[alarm.logicalId] = alarm.name;
        } catch (err) {
          markNotEmulated(report, alarm.logicalId, 'AWS::CloudWatch::Alarm', (err as Error).message);
        }
      }
      for (const { logicalId, reason } of alarmReading.notEmulated)
        markNotEmulated(report, logicalId, 'AWS::CloudWatch::Alarm', reason);
      report.warnings.push(...alarmReading.warnings);
      const eventSources = eventBridgeBuckets(stack, resolution);
      for (const bucketName of eventSources.buckets) events.addS3Bucket(bucketName);
      report.warnings.push(...eventSources.warnings);

      const groups = deploymentGroupsFromTemplate(
        resources,
        (id) => String(resolveIn({ Ref: id })),
        resolveIn,
      );
      for (const [application, names] of groups)
        deploymentGroups.set(application, new Set([...(deploymentGroups.get(application) ?? []), ...names]));

      const apiSetup = readRestApiSetup({ Resources: resources }, resolveIn);
      report.warnings.push(...apiSetup.warnings);
      for (const api of apiSetup.apis)
        apis.push(options.throttleOverride ? withThrottle(api, options.throttleOverride) : api);
      for (const [id, r] of Object.entries(resources)) {
        if (r.Type !== 'AWS::ApiGateway::ApiKey') continue;
        apiKeyIds.push(id);
        if (r.Properties?.Value !== undefined) explicitKeys.set(id, String(resolveIn(r.Properties.Value)));
      }

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
        stateMachines: stateMachineArns,
        topics: topicArns,
        rules: Object.fromEntries(ruleReading.rules.map((r) => [r.logicalId, r.name])),
        alarms: alarmNames,
      });
    }
    // Versions published and aliases shifted through the Lambda API outlive a restart, unless
    // the template was deployed anew since (see local/lambda/lambda-state.ts).
    lambda.restoreState(join(dataDir, 'lambda', 'state.json'));
    // Objects put from here on are routed; the seed deployment above started nothing, as on
    // a restart (on AWS it runs once, at the first deploy).
    cleanups.push(
      onObjectEvent(s3.server, events.onS3ObjectEvent, (err, event) =>
        log(`[events] s3://${event.bucket}/${event.key}: not routed: ${(err as Error).message}`),
      ),
    );

    const keys = loadApiKeys(dataDir, apiKeyIds, explicitKeys);
    const apiKeysByValue = new Map([...keys].map(([id, value]) => [value, id]));
    const accessLog = new AccessLog(join(dataDir, 'logs', 'api-access.log'));
    cleanups.push(() => accessLog.close());
    listener = createGatewayListener({
      apis,
      apiKeys: apiKeysByValue,
      lambda,
      stepFunctions,
      cloudWatch: cloudwatch,
      codeDeploy: deploymentGroups,
      metrics: cloudwatch.gatewayMetrics(),
      accessLog,
    });
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
    // Schedules start once every stack's targets exist.
    events.startSchedules();
    // Alarms are evaluated from now on: every stack's alarms are known.
    cloudwatch.start();
    for (const { rule, expression, next } of events.upcomingSchedules())
      log(`[events] ${rule} (schedule): ${expression}, next at ${next.toISOString()}`);
    log(`platform up: ${url}`);

    return {
      url,
      baseUrl,
      apiKey,
      endpoints,
      stacks,
      report,
      lambda,
      stepFunctions,
      sns,
      cloudwatch,
      firehose,
      events,
      describe: () => ({
        url,
        apiKey,
        region: DEFAULT_LOCAL_REGION,
        endpoints,
        dataDir,
        stacks: Object.fromEntries(stacks.map((s) => [s.stackName, s])),
      }),
      /** Idempotent: a second call finds nothing left to stop. */
      stop: stopAll,
    };
  }
}
