// The credentials and SDK settings that point AWS SDK v3 clients (ours and the functions') at the emulators.
import { DEFAULT_LOCAL_REGION } from '../template/pseudo-parameters.ts';

/**
 * Static credentials the emulators accept. s3rver rejects every access key id but its built-in
 * `S3RVER` (403 InvalidAccessKeyId; V4 signatures themselves are not checked); dynalite only
 * wants a well-formed `AWS4-` Authorization header. Pass a copy to clients (`{ ...LOCAL_CREDENTIALS }`):
 * the SDK writes bookkeeping into the credentials object it is given, and fails on a frozen one.
 */
export const LOCAL_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
};

/** The region local clients sign for; the emulators ignore it. */
export const LOCAL_CLIENT_REGION = DEFAULT_LOCAL_REGION;

/** Emulator endpoints to put in a function worker's environment. */
export interface LocalEndpoints {
  readonly s3?: string;
  readonly dynamoDb?: string;
}

/**
 * The environment variables that make an unconfigured `new S3Client({})` / `new DynamoDBClient({})`
 * in a function worker talk to the emulators, through the SDK's standard settings only (handlers
 * never ask "am I local?"): per-service endpoint URLs, the local credentials, and S3 checksums
 * only when required (s3rver stores streamed uploads with their aws-chunked framing otherwise).
 * Path-style addressing needs no setting: the SDK uses it when the endpoint host is an IP.
 * The runtime should also drop `AWS_PROFILE` and `AWS_SESSION_TOKEN` from the inherited environment.
 */
export function localSdkEnv(endpoints: LocalEndpoints): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    ...(endpoints.s3 ? { AWS_ENDPOINT_URL_S3: endpoints.s3 } : {}),
    ...(endpoints.dynamoDb ? { AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoDb } : {}),
  };
}
