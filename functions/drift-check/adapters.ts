// AWS adapters of the drift check's ports: capture objects in S3, and the retraining state
// machine in Step Functions.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { CaptureObjects } from '../lib/capture/capture-reader.ts';
import type { RetrainingRequest } from '../lib/retraining/retraining-request.ts';
import { s3Uri } from '../lib/storage/s3-layout.ts';
import type { RetrainingStarter } from './core.ts';

/** The capture objects of `bucket`: listed page by page, read as streams (never whole in memory). */
export function s3CaptureObjects(s3: S3Client, bucket: string): CaptureObjects {
  return {
    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
        token = page.NextContinuationToken;
      } while (token);
      return keys;
    },
    async open(key) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      // In Node the body is a Readable, which iterates as Buffer chunks.
      const body = out.Body as AsyncIterable<Uint8Array> | undefined;
      if (!body) throw new Error(`empty body for ${s3Uri(bucket, key)}`);
      return body;
    },
  };
}

/** The ARN Step Functions gives execution `name` of `stateMachineArn`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Starts executions of the retraining state machine `stateMachineArn`. */
export function stepFunctionsRetrainingStarter(sfn: SFNClient, stateMachineArn: string): RetrainingStarter {
  return {
    async start(name: string, request: RetrainingRequest) {
      try {
        const out = await sfn.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) }),
        );
        return {
          executionArn: out.executionArn ?? executionArnOf(stateMachineArn, name),
          alreadyStarted: false,
        };
      } catch (err) {
        // Names are unique per state machine (for 90 days after an execution closes): this
        // window's retraining was started before, by an earlier check or a retry of this one.
        if ((err as Error).name === 'ExecutionAlreadyExists')
          return { executionArn: executionArnOf(stateMachineArn, name), alreadyStarted: true };
        throw err;
      }
    },
  };
}
