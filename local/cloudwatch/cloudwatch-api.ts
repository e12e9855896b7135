// The CloudWatch API over local CloudWatch, in the AWS JSON 1.0 protocol the SDK (v3.1164+) speaks:
// `POST /` with `x-amz-target: GraniteServiceVersion20100801.<Operation>`, timestamps as epoch
// seconds. CloudWatch is "query compatible": errors carry the query API's code in
// `x-amzn-query-error`, which the SDK maps to its exception classes. Like the other local AWS
// APIs, only SigV4-signed requests are served.
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Respond } from '../gateway/invoke-api.ts';
import { header, readBody } from '../gateway/request.ts';
import { ALARM_OPERATIONS } from './alarm-operations.ts';
import { CloudWatchApiError } from './api-errors.ts';
import type { LocalCloudWatch } from './local-cloudwatch.ts';
import { METRIC_OPERATIONS } from './metric-operations.ts';
import type { Operation } from './request-fields.ts';

// DescribeAlarms, DescribeAlarmHistory, SetAlarmState, PutMetricData, GetMetricData,
// GetMetricStatistics and ListMetrics; anything else is UnknownOperationException.
const OPERATIONS: Readonly<Record<string, Operation>> = { ...ALARM_OPERATIONS, ...METRIC_OPERATIONS };
const TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
/** PutMetricData takes up to 1 MB. */
const MAX_REQUEST_BYTES = 1024 * 1024;

/** True when the request is a CloudWatch API call. */
export function isCloudWatchRequest(req: IncomingMessage): boolean {
  return header(req, 'x-amz-target')?.startsWith(TARGET_PREFIX) ?? false;
}

/** Answer one CloudWatch API request. */
export async function cloudWatchApi(
  cloudwatch: LocalCloudWatch,
  req: IncomingMessage,
  respond: Respond,
): Promise<void> {
  if (!header(req, 'authorization')?.startsWith('AWS4-HMAC-SHA256'))
    return apiError(
      respond,
      new CloudWatchApiError(
        'MissingAuthenticationTokenException',
        undefined,
        'Missing Authentication Token',
        403,
      ),
    );
  const name = (header(req, 'x-amz-target') ?? '').slice(TARGET_PREFIX.length);
  const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (req.method !== 'POST' || !operation)
    return apiError(
      respond,
      new CloudWatchApiError(
        'UnknownOperationException',
        undefined,
        `${name || '(none)'} is not an operation the local runtime serves`,
      ),
    );
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (body === undefined)
    return apiError(
      respond,
      new CloudWatchApiError(
        'RequestEntityTooLargeException',
        'RequestEntityTooLarge',
        `Request must be smaller than ${MAX_REQUEST_BYTES} bytes`,
        413,
      ),
    );
  let request: unknown;
  try {
    // The SDK gzips PutMetricData bodies over 10 KB.
    const text = (
      header(req, 'content-encoding') === 'gzip'
        ? gunzipSync(body, { maxOutputLength: MAX_REQUEST_BYTES })
        : body
    ).toString('utf8');
    request = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    return apiError(
      respond,
      new CloudWatchApiError(
        'SerializationException',
        undefined,
        'The request body is not valid JSON (or not valid gzip)',
      ),
    );
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request))
    return apiError(
      respond,
      new CloudWatchApiError('SerializationException', undefined, 'The request body must be a JSON object'),
    );
  let result: unknown;
  try {
    result = operation(cloudwatch, request as Readonly<Record<string, unknown>>);
  } catch (err) {
    if (err instanceof CloudWatchApiError) return apiError(respond, err);
    throw err;
  }
  respond(200, JSON.stringify(result ?? {}), { 'content-type': CONTENT_TYPE });
}

function apiError(respond: Respond, err: CloudWatchApiError): void {
  respond(err.status, JSON.stringify({ __type: err.type, message: err.message }), {
    'content-type': CONTENT_TYPE,
    ...(err.queryCode === undefined ? {} : { 'x-amzn-query-error': `${err.queryCode};Sender` }),
  });
}
