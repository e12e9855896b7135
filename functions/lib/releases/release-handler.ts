// Lambda wiring shared by the release steps: configuration parsed at cold start (failing by name),
// clients and adapters created once per execution environment, and the wrapper that names
// transient faults for the ASL's Retry while every other error keeps its name for its Catch.
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { jsonEnv, parseEnv } from '../config/env.ts';
import { DynamoDbModelRegistry } from '../registry/dynamodb-registry.ts';
import { stepRunner } from '../step-runner.ts';
import { CloudWatchHealthProbe } from './cloudwatch-health-probe.ts';
import { type CodeDeployPorts, codeDeployPorts, codeDeployTargetFromEnv } from './code-deploy-guard.ts';
import { DynamoDbReleaseStore } from './dynamodb-release-store.ts';
import { LambdaAliasControl } from './lambda-alias-control.ts';
import { ReleasePolicy } from './release-plan.ts';

/** Environment of every release function (set by infra/constructs/release-pipeline.ts). */
export const ReleaseEnv = z.object({
  REGISTRY_TABLE: z.string().min(1),
  /** The function whose alias releases shift (the predict function). */
  PREDICT_FUNCTION_NAME: z.string().min(1),
  LIVE_ALIAS_NAME: z.string().min(1).default('live'),
  /** JSON ReleasePolicy: defaults, per-model settings, health thresholds. */
  RELEASE_POLICY: jsonEnv(ReleasePolicy).optional(),
  /** JSON list of the served path's alarm names every bake watches. */
  RELEASE_ALARM_NAMES: jsonEnv(z.array(z.string().min(1))).optional(),
  /** The predict function's REGISTRY_CACHE_TTL_MS: how long a promotion may go unseen by it. */
  REGISTRY_CACHE_TTL_MS: z.coerce.number().int().nonnegative().default(5_000),
});

export const logger = new Logger({ serviceName: 'release' });

interface Wiring {
  readonly registry: DynamoDbModelRegistry;
  readonly store: DynamoDbReleaseStore;
  readonly alias: LambdaAliasControl;
  readonly health: CloudWatchHealthProbe;
  readonly policy: ReleasePolicy;
  readonly alarmNames: readonly string[];
  /** How long the predict function reuses a registry answer (ms). */
  readonly registryCacheTtlMs: number;
  /** Present when the alias has a CodeDeploy deployment group (CODE_DEPLOY_* variables). */
  readonly codeDeploy?: CodeDeployPorts;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

let wiring: Wiring | undefined;

/** The release's adapters, created on first use and reused by later invocations. */
export function releasePorts(): Wiring {
  if (wiring) return wiring;
  const env = parseEnv(ReleaseEnv);
  const codeDeploy = codeDeployTargetFromEnv();
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  wiring = {
    registry: new DynamoDbModelRegistry(db, env.REGISTRY_TABLE),
    store: new DynamoDbReleaseStore(db, env.REGISTRY_TABLE),
    alias: new LambdaAliasControl(new LambdaClient({}), env.PREDICT_FUNCTION_NAME, env.LIVE_ALIAS_NAME),
    health: new CloudWatchHealthProbe(new CloudWatchClient({})),
    policy: env.RELEASE_POLICY ?? ReleasePolicy.parse({}),
    alarmNames: env.RELEASE_ALARM_NAMES ?? [],
    registryCacheTtlMs: env.REGISTRY_CACHE_TTL_MS,
    ...(codeDeploy ? { codeDeploy: codeDeployPorts(new CodeDeployClient({}), codeDeploy) } : {}),
    now: () => new Date(),
    log: (message, data) => logger.info(message, data ?? {}),
  };
  return wiring;
}

/** Run a step; throttling and passing faults become TransientError, which the ASL retries. */
export const releaseStep = stepRunner(logger);
