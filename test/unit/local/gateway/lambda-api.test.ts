// The Lambda control plane on the gateway port, driven by the real @aws-sdk/client-lambda: the
// release calls (update configuration, wait, publish, wait, shift the alias), their preconditions
// and validation, with the error classes the SDK raises, and the gateway's SigV4 and Host rules.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  InvalidParameterValueException,
  InvokeCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PreconditionFailedException,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../functions/lib/random.ts';
import { createGatewayListener } from '../../../../local/gateway/server.ts';
import { LambdaService } from '../../../../local/lambda/lambda-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlops-lambda-api-'));
writeFileSync(
  join(dir, 'index.js'),
  `exports.handler = async (event, context) => ({
  version: context.functionVersion,
  pins: process.env.MODEL_VERSION_PINS ?? null,
});`,
);

const FN = 'predict';
const lambda = new LambdaService(seededRandom(11));
lambda.addFunction(
  {
    logicalId: 'Predict',
    functionName: FN,
    bundleFile: join(dir, 'index.js'),
    handlerName: 'handler',
    environment: { REGISTRY_TABLE: 'registry' },
    platformEnvironment: { AWS_REGION: 'us-east-1' },
    memorySize: 512,
    timeoutSeconds: 10,
    logDir: dir,
    maxConcurrency: 1,
  },
  { description: 'Online predictions', runtime: 'nodejs22.x' },
);
lambda.addVersion(FN, '1');
lambda.setAlias('live', { functionName: FN, version: '1', additionalVersions: [] });

let server: Server;
let port: number;
let client: LambdaClient;

beforeAll(async () => {
  server = createServer(createGatewayListener({ apis: [], apiKeys: new Map(), lambda }));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
  client = new LambdaClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((ok) => {
    server.close(() => ok());
    server.closeAllConnections();
  });
  await lambda.close();
  rmSync(dir, { recursive: true, force: true });
});

const failure = (p: Promise<unknown>) =>
  p.then(() => undefined).catch((e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } });

describe('reading functions', () => {
  it('answers GetFunctionConfiguration for $LATEST with its own variables, active and settled', async () => {
    const c = await client.send(new GetFunctionConfigurationCommand({ FunctionName: FN }));
    expect(c).toMatchObject({
      FunctionName: FN,
      FunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FN}`,
      Version: '$LATEST',
      Description: 'Online predictions',
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 10,
      Environment: { Variables: { REGISTRY_TABLE: 'registry' } },
      State: 'Active',
      LastUpdateStatus: 'Successful',
      RevisionId: expect.any(String),
      CodeSha256: expect.any(String),
    });
    // Variables the platform sets (endpoints, region) are not the function's configuration.
    expect(c.Environment?.Variables?.AWS_REGION).toBeUndefined();
  });

  it('answers for an alias qualifier with its primary version, under the alias ARN', async () => {
    const c = await client.send(new GetFunctionConfigurationCommand({ FunctionName: FN, Qualifier: 'live' }));
    expect(c).toMatchObject({ Version: '1', FunctionArn: expect.stringMatching(/:function:predict:live$/) });
    const byArn = await client.send(
      new GetFunctionCommand({ FunctionName: `arn:aws:lambda:us-east-1:000000000000:function:${FN}:live` }),
    );
    expect(byArn.Configuration?.Version).toBe('1');
    expect(byArn.Code?.Location).toMatch(/^file:\/\//);
  });

  it('lists functions', async () => {
    const out = await client.send(new ListFunctionsCommand({}));
    expect(out.Functions?.map((f) => f.FunctionName)).toEqual([FN]);
  });

  it('raises ResourceNotFoundException (404) for a function, version or alias that does not exist', async () => {
    for (const input of [{ FunctionName: 'nope' }, { FunctionName: FN, Qualifier: '99' }]) {
      const err = await failure(client.send(new GetFunctionConfigurationCommand(input)));
      expect(err).toBeInstanceOf(ResourceNotFoundException);
      expect(err?.$metadata.httpStatusCode).toBe(404);
    }
    expect(
      await failure(client.send(new GetAliasCommand({ FunctionName: FN, Name: 'canary' }))),
    ).toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('a model release through the SDK', () => {
  let version = '';

  it('updates $LATEST, waits, publishes a version, waits until it is active', async () => {
    const latest = await client.send(new GetFunctionConfigurationCommand({ FunctionName: FN }));
    const updated = await client.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: FN,
        Environment: {
          Variables: { ...latest.Environment?.Variables, MODEL_VERSION_PINS: '{"flight-delay":2}' },
        },
        RevisionId: latest.RevisionId,
      }),
    );
    expect(updated.RevisionId).not.toBe(latest.RevisionId);
    const waited = await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 5 }, { FunctionName: FN });
    expect(waited.state).toBe('SUCCESS');
    const published = await client.send(
      new PublishVersionCommand({
        FunctionName: FN,
        Description: 'flight-delay v2',
        RevisionId: updated.RevisionId,
        CodeSha256: updated.CodeSha256,
      }),
    );
    version = published.Version ?? '';
    expect(published).toMatchObject({
      Version: '2',
      Description: 'flight-delay v2',
      FunctionArn: expect.stringMatching(/:function:predict:2$/),
      Environment: { Variables: { REGISTRY_TABLE: 'registry', MODEL_VERSION_PINS: '{"flight-delay":2}' } },
    });
    const active = await waitUntilPublishedVersionActive(
      { client, maxWaitTime: 10 },
      { FunctionName: FN, Qualifier: version },
    );
    expect(active.state).toBe('SUCCESS');
  });

  it('returns the same version when $LATEST is published again unchanged', async () => {
    const again = await client.send(new PublishVersionCommand({ FunctionName: FN }));
    expect(again.Version).toBe(version);
    const listed = await client.send(new ListVersionsByFunctionCommand({ FunctionName: FN }));
    expect(listed.Versions?.map((v) => v.Version)).toEqual(['$LATEST', '1', '2']);
  });

  it('runs the published version with its pinned configuration', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: FN, Qualifier: version, Payload: '{}' }));
    expect(out.ExecutedVersion).toBe(version);
    expect(JSON.parse(new TextDecoder().decode(out.Payload))).toEqual({
      version,
      pins: '{"flight-delay":2}',
    });
  });

  it('shifts 20% of the alias to it and reads the weights back', async () => {
    const before = await client.send(new GetAliasCommand({ FunctionName: FN, Name: 'live' }));
    const after = await client.send(
      new UpdateAliasCommand({
        FunctionName: FN,
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { [version]: 0.2 } },
        RevisionId: before.RevisionId,
      }),
    );
    expect(after).toMatchObject({
      AliasArn: expect.stringMatching(/:function:predict:live$/),
      Name: 'live',
      FunctionVersion: '1',
      RoutingConfig: { AdditionalVersionWeights: { [version]: 0.2 } },
    });
    expect(after.RevisionId).not.toBe(before.RevisionId);
    const read = await client.send(new GetAliasCommand({ FunctionName: FN, Name: 'live' }));
    expect(read.RoutingConfig?.AdditionalVersionWeights).toEqual({ [version]: 0.2 });
    expect(lambda.getAlias(FN, 'live')?.additionalVersions).toEqual([{ version, weight: 0.2 }]);
  });

  it('refuses a stale RevisionId with PreconditionFailedException (412)', async () => {
    const stale = await client.send(new GetAliasCommand({ FunctionName: FN, Name: 'live' }));
    await client.send(
      new UpdateAliasCommand({
        FunctionName: FN,
        Name: 'live',
        RoutingConfig: { AdditionalVersionWeights: { [version]: 0.25 } },
      }),
    );
    const err = await failure(
      client.send(
        new UpdateAliasCommand({
          FunctionName: FN,
          Name: 'live',
          FunctionVersion: version,
          RevisionId: stale.RevisionId,
        }),
      ),
    );
    expect(err).toBeInstanceOf(PreconditionFailedException);
    expect(err?.$metadata.httpStatusCode).toBe(412);
    const staleFn = await failure(
      client.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: FN, Timeout: 11, RevisionId: 'stale' }),
      ),
    );
    expect(staleFn).toBeInstanceOf(PreconditionFailedException);
    expect(
      await failure(client.send(new PublishVersionCommand({ FunctionName: FN, RevisionId: 'stale' }))),
    ).toBeInstanceOf(PreconditionFailedException);
  });

  it.each([
    [{ '1': 0.1, '2': 0.1 }, /at most one additional version/],
    [{ '2': 1.5 }, /from 0.0 to 1.0/],
    [{ '1': 0.5 }, /primary version/],
  ])('refuses routing %j with InvalidParameterValueException (400)', async (weights, message) => {
    const err = await failure(
      client.send(
        new UpdateAliasCommand({
          FunctionName: FN,
          Name: 'live',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: weights },
        }),
      ),
    );
    expect(err).toBeInstanceOf(InvalidParameterValueException);
    expect(err?.$metadata.httpStatusCode).toBe(400);
    expect(err?.message).toMatch(message);
  });

  it('refuses routing to a version that does not exist with ResourceNotFoundException', async () => {
    const err = await failure(
      client.send(
        new UpdateAliasCommand({
          FunctionName: FN,
          Name: 'live',
          RoutingConfig: { AdditionalVersionWeights: { '7': 0.1 } },
        }),
      ),
    );
    expect(err).toBeInstanceOf(ResourceNotFoundException);
  });

  it('clears the weights with an empty map', async () => {
    const out = await client.send(
      new UpdateAliasCommand({
        FunctionName: FN,
        Name: 'live',
        FunctionVersion: version,
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    );
    expect(out.FunctionVersion).toBe(version);
    expect(out.RoutingConfig).toBeUndefined();
  });
});

describe('configuration changes the local service refuses', () => {
  it('names a reserved variable', async () => {
    const err = await failure(
      client.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: FN,
          Environment: { Variables: { AWS_REGION: 'x' } },
        }),
      ),
    );
    expect(err).toBeInstanceOf(InvalidParameterValueException);
    expect(err?.message).toContain('AWS_REGION');
  });

  it('names a setting it does not emulate', async () => {
    const err = await failure(
      client.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: FN,
          VpcConfig: { SubnetIds: ['subnet-1'] },
          Timeout: 20,
        }),
      ),
    );
    expect(err).toBeInstanceOf(InvalidParameterValueException);
    expect(err?.message).toMatch(/VpcConfig is not supported by the local Lambda service/);
    const c = await client.send(new GetFunctionConfigurationCommand({ FunctionName: FN }));
    expect(c.Timeout).toBe(10);
  });

  it('refuses a qualified function name', async () => {
    const err = await failure(
      client.send(new UpdateFunctionConfigurationCommand({ FunctionName: `${FN}:1`, Timeout: 20 })),
    );
    expect(err).toBeInstanceOf(InvalidParameterValueException);
  });
});

describe('aliases', () => {
  it('creates an alias once and refuses a second with ResourceConflictException (409)', async () => {
    const created = await client.send(
      new CreateAliasCommand({ FunctionName: FN, Name: 'shadow', FunctionVersion: '1' }),
    );
    expect(created).toMatchObject({ Name: 'shadow', FunctionVersion: '1', RevisionId: expect.any(String) });
    const err = await failure(
      client.send(new CreateAliasCommand({ FunctionName: FN, Name: 'shadow', FunctionVersion: '1' })),
    );
    expect(err).toBeInstanceOf(ResourceConflictException);
    expect(err?.$metadata.httpStatusCode).toBe(409);
  });

  it('lists aliases by page and by version', async () => {
    const first = await client.send(new ListAliasesCommand({ FunctionName: FN, MaxItems: 1 }));
    expect(first.Aliases?.map((a) => a.Name)).toEqual(['live']);
    const second = await client.send(
      new ListAliasesCommand({ FunctionName: FN, MaxItems: 1, Marker: first.NextMarker }),
    );
    expect(second.Aliases?.map((a) => a.Name)).toEqual(['shadow']);
    expect(second.NextMarker).toBeUndefined();
    const onV1 = await client.send(new ListAliasesCommand({ FunctionName: FN, FunctionVersion: '1' }));
    expect(onV1.Aliases?.map((a) => a.Name)).toEqual(['shadow']);
  });

  it('invokes an alias asynchronously: 202, run in the background', async () => {
    const runs: string[] = [];
    lambda.setMetricsSink({
      onInvocation: (_fn, qualifier, executed) => runs.push(`${qualifier}:${executed}`),
    });
    try {
      const out = await client.send(
        new InvokeCommand({ FunctionName: FN, Qualifier: 'shadow', InvocationType: 'Event', Payload: '{}' }),
      );
      expect(out.StatusCode).toBe(202);
      await expect.poll(() => runs).toEqual(['shadow:1']);
    } finally {
      lambda.setMetricsSink(undefined);
    }
  });
});

describe('invocation types', () => {
  it('checks a DryRun without running the function, and refuses one for a missing alias', async () => {
    const runs: string[] = [];
    lambda.setMetricsSink({ onInvocation: (_fn, qualifier) => runs.push(String(qualifier)) });
    try {
      const ok = await client.send(
        new InvokeCommand({ FunctionName: FN, Qualifier: 'live', InvocationType: 'DryRun' }),
      );
      expect(ok.StatusCode).toBe(204);
      const err = await failure(
        client.send(new InvokeCommand({ FunctionName: FN, Qualifier: 'canary', InvocationType: 'Event' })),
      );
      expect(err).toBeInstanceOf(ResourceNotFoundException);
      expect(runs).toEqual([]);
    } finally {
      lambda.setMetricsSink(undefined);
    }
  });
});

describe('the gateway rules', () => {
  it('answers an operation it does not serve with a clear UnknownOperationException', async () => {
    const err = await failure(client.send(new GetPolicyCommand({ FunctionName: FN })));
    expect(err?.name).toBe('UnknownOperationException');
    expect(err?.message).toMatch(/not a Lambda operation the local runtime serves/);
  });

  it('refuses an unsigned request', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/2015-03-31/functions/${FN}/configuration`);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  it('refuses a Host that is not the loopback listener', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: `/2015-03-31/functions/${FN}/aliases/live`,
          method: 'PUT',
          headers: { host: `attacker.example:${port}`, authorization: 'AWS4-HMAC-SHA256 x' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{"FunctionVersion":"1"}');
    });
    expect(status).toBe(403);
    expect(lambda.getAlias(FN, 'live')?.version).toBe('2');
  });
});
