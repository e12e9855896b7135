// Lambda entry point of the scheduled drift check (and of direct checks from the CLI and the
// local demo): parses the event, wires AWS clients to the use case, returns its summary.
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { jsonEnv, parseEnv } from '../lib/config/env.ts';
import { DynamoDbAlertStateStore } from '../lib/drift/alert-state-store.ts';
import { renderDriftReportHtml } from '../lib/drift/report-html.ts';
import { writeEmf } from '../lib/metrics/emf.ts';
import { DynamoDbModelRegistry } from '../lib/registry/dynamodb-registry.ts';
import { s3ObjectStore } from '../lib/storage/object-store.ts';
import { s3CaptureObjects, stepFunctionsRetrainingStarter } from './adapters.ts';
import {
  checkDrift,
  type DriftCheckConfig,
  DriftCheckFailed,
  type DriftCheckPorts,
  ThresholdsByModelSchema,
} from './core.ts';
import { parseDriftCheckEvent, WindowMinutes } from './request.ts';

const env = parseEnv(
  z.object({
    DATA_BUCKET: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
    REGISTRY_TABLE: z.string().min(1),
    DRIFT_STATE_TABLE: z.string().min(1),
    DRIFT_WINDOW_MINUTES: WindowMinutes.default(60),
    /** Minutes a window's records may still be arriving after it ends (capture buffering). */
    DRIFT_WINDOW_DELAY_MINUTES: z.coerce.number().int().min(0).max(1440).default(0),
    /** K: significant windows in a row that raise the alarm. */
    DRIFT_CONSECUTIVE_WINDOWS: z.coerce.number().int().min(1).default(2),
    /** JSON `{ "<model>": DriftThresholdsInput, "*": DriftThresholdsInput }`. */
    DRIFT_THRESHOLDS: jsonEnv(ThresholdsByModelSchema).optional(),
    /** Absent: no retraining configured; a raised alarm is reported only. */
    RETRAINING_STATE_MACHINE_ARN: z.string().optional(),
  }),
);

const logger = new Logger({ serviceName: 'drift-check' });
const s3 = new S3Client({});
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));

const ports: DriftCheckPorts = {
  registry: new DynamoDbModelRegistry(documentClient, env.REGISTRY_TABLE),
  captures: s3CaptureObjects(s3, env.DATA_BUCKET),
  artifacts: s3ObjectStore(s3, env.ARTIFACTS_BUCKET),
  reports: s3ObjectStore(s3, env.DATA_BUCKET),
  alerts: new DynamoDbAlertStateStore(documentClient, env.DRIFT_STATE_TABLE),
  ...(env.RETRAINING_STATE_MACHINE_ARN
    ? { retraining: stepFunctionsRetrainingStarter(new SFNClient({}), env.RETRAINING_STATE_MACHINE_ARN) }
    : {}),
  renderHtml: renderDriftReportHtml,
  now: () => new Date(),
  emitMetrics: (entries) => writeEmf(entries),
  log: {
    info: (message, data) => logger.info(message, data ?? {}),
    warn: (message, data) => logger.warn(message, data ?? {}),
    error: (message, data) => logger.error(message, data ?? {}),
  },
};

const config: DriftCheckConfig = {
  consecutiveWindows: env.DRIFT_CONSECUTIVE_WINDOWS,
  thresholds: env.DRIFT_THRESHOLDS ?? {},
};

if (!env.RETRAINING_STATE_MACHINE_ARN)
  logger.info('RETRAINING_STATE_MACHINE_ARN is not set: drift alarms will not start retraining');

/** A schedule's "Scheduled Event", or `{ model?, window?: { start, end } }` from a direct invocation. */
export const handler = async (event: unknown) => {
  try {
    const request = parseDriftCheckEvent(event, {
      windowMinutes: env.DRIFT_WINDOW_MINUTES,
      delayMinutes: env.DRIFT_WINDOW_DELAY_MINUTES,
      now: new Date(),
    });
    return await checkDrift(request, ports, config);
  } catch (err) {
    // The models that were checked are in the summary; the error the invocation returns has only its message.
    if (err instanceof DriftCheckFailed)
      logger.error('drift check failed', { error: err, summary: err.summary });
    else logger.error('drift check failed', err as Error);
    throw err;
  }
};
