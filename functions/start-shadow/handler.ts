// Lambda entry point of the release state machine's StartShadow step (strategy `shadow`).
import { Logger } from '@aws-lambda-powertools/logger';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { parseEnv } from '../lib/config/env.ts';
import { DynamoDbModelRegistry } from '../lib/registry/dynamodb-registry.ts';
import { codeDeployPorts, codeDeployTargetFromEnv } from '../lib/releases/code-deploy-guard.ts';
import { LambdaAliasControl } from '../lib/releases/lambda-alias-control.ts';
import {
  DEFAULT_SHADOW_WINDOW_SECONDS,
  MAX_SETTLE_SECONDS,
  MAX_SHADOW_SECONDS,
} from '../lib/releases/release-plan.ts';
import { pointShadowAtChallenger } from '../lib/releases/shadow-alias.ts';
import { DynamoDbShadowConfigStore, SHADOW_ALIAS_NAME } from '../lib/releases/shadow-config.ts';
import { stepRunner } from '../lib/step-runner.ts';
import { startShadow } from './core.ts';

const env = parseEnv(
  z.object({
    REGISTRY_TABLE: z.string().min(1),
    /** The predict function whose `shadow` alias runs the challenger. */
    PREDICT_FUNCTION_NAME: z.string().min(1),
    LIVE_ALIAS: z.string().min(1).default('live'),
    SHADOW_ALIAS: z.string().min(1).default(SHADOW_ALIAS_NAME),
    /** Capture delivery's delay (buffering + log subscription): how long a report waits after the window. */
    CAPTURE_SETTLE_SECONDS: z.coerce.number().int().min(0).max(MAX_SETTLE_SECONDS).default(120),
    /** A shadow release's window when its request names no bake. */
    SHADOW_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_SHADOW_SECONDS)
      .default(DEFAULT_SHADOW_WINDOW_SECONDS),
  }),
);
const codeDeploy = codeDeployTargetFromEnv();

const logger = new Logger({ serviceName: 'start-shadow' });
const runStep = stepRunner(logger);
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const lambda = new LambdaClient({});
const live = new LambdaAliasControl(lambda, env.PREDICT_FUNCTION_NAME, env.LIVE_ALIAS);
const shadow = new LambdaAliasControl(lambda, env.PREDICT_FUNCTION_NAME, env.SHADOW_ALIAS);

const ports = {
  registry: new DynamoDbModelRegistry(documentClient, env.REGISTRY_TABLE),
  shadows: new DynamoDbShadowConfigStore(documentClient, env.REGISTRY_TABLE),
  pointAlias: (input: Parameters<typeof pointShadowAtChallenger>[2]) =>
    pointShadowAtChallenger(live, shadow, input),
  invokeVersion: (version: string, event: unknown) => shadow.invokeVersion(version, event),
  ...(codeDeploy ? { codeDeploy: codeDeployPorts(new CodeDeployClient({}), codeDeploy) } : {}),
  now: () => new Date(),
  log: (message: string, data?: Record<string, unknown>) => logger.info(message, data ?? {}),
};

/** Input and output: see StartShadowInput and ShadowStarted in core.ts. */
export const handler = (event: unknown) =>
  runStep('start-shadow', () =>
    startShadow(event, ports, {
      settleSeconds: env.CAPTURE_SETTLE_SECONDS,
      windowSeconds: env.SHADOW_WINDOW_SECONDS,
    }),
  );
