// Faults injected into the local Lambda service: throttles and handler errors, counted down,
// as callers in-process and through the Invoke API see them. No handler runs in these tests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, LambdaClient, TooManyRequestsException as SdkThrottle } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayListener } from '../../../../local/gateway/server.ts';
import { FunctionError } from '../../../../local/lambda/function-runtime.ts';
import {
  LambdaService,
  ResourceNotFound,
  TooManyRequestsException,
} from '../../../../local/lambda/lambda-service.ts';

function service() {
  const lambda = new LambdaService();
  lambda.addFunction({
    logicalId: 'Train',
    functionName: 'train',
    bundleFile: '/nonexistent/index.js',
    handlerName: 'handler',
    environment: {},
    memorySize: 128,
    timeoutSeconds: 3,
    logDir: '/tmp',
  });
  return lambda;
}

describe('LambdaService.injectFault', () => {
  it('throttles the next invocations, then clears itself', async () => {
    const lambda = service();
    lambda.injectFault('train', { kind: 'throttle' }, { times: 2 });
    await expect(lambda.invoke('train', {})).rejects.toBeInstanceOf(TooManyRequestsException);
    await expect(lambda.invoke('arn:aws:lambda:us-east-1:000000000000:function:train', {})).rejects.toThrow(
      'Rate Exceeded.',
    );
    // The third invocation reaches the (missing) bundle: not a throttle any more.
    await expect(lambda.invoke('train', {})).rejects.not.toBeInstanceOf(TooManyRequestsException);
    await lambda.close();
  });

  it('fails every invocation with the given error until cleared', async () => {
    const lambda = service();
    lambda.injectFault('train', {
      kind: 'error',
      errorType: 'DataValidationFailed',
      errorMessage: 'no rows',
    });
    for (let i = 0; i < 3; i++) {
      const err = await lambda.invoke('train', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FunctionError);
      expect((err as FunctionError).payload).toEqual({
        errorType: 'DataValidationFailed',
        errorMessage: 'no rows',
      });
    }
    lambda.clearFaults();
    await expect(lambda.invoke('train', {})).rejects.not.toMatchObject({ name: 'DataValidationFailed' });
    await lambda.close();
  });

  it('fails for a function that does not exist', () => {
    expect(() => service().injectFault('nope', { kind: 'throttle' })).toThrow(ResourceNotFound);
  });
});

describe('the Invoke API with an injected throttle', () => {
  const lambda = service();
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    server = createServer(createGatewayListener({ apis: [], apiKeys: new Map(), lambda }));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((ok) => server.close(() => ok()));
    await lambda.close();
  });

  it('answers 429 TooManyRequestsException, which the SDK raises as such', async () => {
    lambda.injectFault('train', { kind: 'throttle' }, { times: 1 });
    const client = new LambdaClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const err = await client
      .send(new InvokeCommand({ FunctionName: 'train', Payload: '{}' }))
      .catch((e) => e);
    expect(err).toBeInstanceOf(SdkThrottle);
    expect(err.$metadata.httpStatusCode).toBe(429);
  });
});
