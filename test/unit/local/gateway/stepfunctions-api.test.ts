// The Step Functions API on the gateway port, driven by the real @aws-sdk/client-sfn: every
// response must parse, errors must surface as the SDK's exception classes.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayListener } from '../../../../local/gateway/server.ts';
import { LambdaService } from '../../../../local/lambda/lambda-service.ts';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import { LocalStepFunctions } from '../../../../local/stepfunctions/local-step-functions.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'mlops-sfn-api-'));
const fnArn = 'arn:aws:lambda:us-east-1:000000000000:function:score';
const engine = new LocalStepFunctions({
  // `hang` never answers, to keep an execution RUNNING; anything else doubles `n`.
  invokeLambda: async (_ref, event) =>
    (event as { hang?: boolean }).hang ? new Promise(() => undefined) : { n: (event as { n: number }).n * 2 },
  log: () => undefined,
  dataDir,
});
engine.addStateMachine({
  logicalId: 'Scoring',
  name: 'Scoring',
  arn: stateMachineArn('Scoring'),
  type: 'STANDARD',
  definition: JSON.stringify({
    StartAt: 'Score',
    States: { Score: { Type: 'Task', Resource: fnArn, End: true } },
  }),
});
const machineArn = stateMachineArn('Scoring');
const lambda = new LambdaService();
let server: Server;
let port: number;
let sfn: SFNClient;

beforeAll(async () => {
  server = createServer(
    createGatewayListener({ apis: [], apiKeys: new Map(), lambda, stepFunctions: engine }),
  );
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
  sfn = new SFNClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});

afterAll(async () => {
  await engine.close();
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Step Functions API', () => {
  it('starts an execution and describes it when it has ended', async () => {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'score-1', input: '{"n":21}' }),
    );
    expect(started.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:Scoring:score-1');
    expect(started.startDate).toBeInstanceOf(Date);
    await engine.waitForExecution(started.executionArn ?? '', 5000);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(described).toMatchObject({
      name: 'score-1',
      stateMachineArn: machineArn,
      status: 'SUCCEEDED',
      input: '{"n":21}',
      output: '{"n":42}',
    });
    expect(described.stopDate?.getTime()).toBeGreaterThanOrEqual(described.startDate?.getTime() ?? Infinity);
    expect(
      Math.abs((described.startDate?.getTime() ?? 0) - (started.startDate?.getTime() ?? 0)),
    ).toBeLessThan(1);
  });

  it('pages the history in either order', async () => {
    const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:Scoring:score-1';
    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 4 }));
    expect(first.events?.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
    ]);
    expect(first.events?.[1]?.stateEnteredEventDetails).toEqual({
      name: 'Score',
      input: '{"n":21}',
      inputDetails: { truncated: false },
    });
    expect(first.events?.[0]?.timestamp).toBeInstanceOf(Date);
    const rest = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken: first.nextToken }));
    expect(rest.events?.map((e) => e.type)).toEqual([
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(rest.nextToken).toBeUndefined();
    expect(rest.events?.at(-1)?.executionSucceededEventDetails?.output).toBe('{"n":42}');
    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }),
    );
    expect(reversed.events?.map((e) => [e.id, e.type])).toEqual([[7, 'ExecutionSucceeded']]);
  });

  it('lists executions by status, newest first, and stops a running one', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'score-2', input: '{"hang":true}' }),
    );
    const running = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: machineArn, statusFilter: 'RUNNING' }),
    );
    expect(running.executions?.map((e) => e.name)).toEqual(['score-2']);
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn, cause: 'test' }));
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }));
    expect(all.executions?.map((e) => [e.name, e.status])).toEqual([
      ['score-2', 'ABORTED'],
      ['score-1', 'SUCCEEDED'],
    ]);
  });

  it('lists and describes state machines', async () => {
    const { stateMachines } = await sfn.send(new ListStateMachinesCommand({}));
    expect(stateMachines).toEqual([
      { stateMachineArn: machineArn, name: 'Scoring', type: 'STANDARD', creationDate: expect.any(Date) },
    ]);
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: machineArn }));
    expect(described).toMatchObject({ name: 'Scoring', status: 'ACTIVE', type: 'STANDARD' });
    expect(JSON.parse(described.definition ?? '').StartAt).toBe('Score');
  });

  it('answers AWS errors the SDK raises by class', async () => {
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: 'arn:aws:states:us-east-1:000000000000:execution:Scoring:ghost',
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: stateMachineArn('Nope') })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: 'score-1', input: '{"n":1}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('refuses unsigned requests', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          method: 'POST',
          headers: {
            'x-amz-target': 'AWSStepFunctions.ListStateMachines',
            'content-type': 'application/x-amz-json-1.0',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });
});
