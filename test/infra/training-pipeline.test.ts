// The training pipeline: its ASL file (valid, filled in exactly by the stack's substitutions,
// every step retried on transient faults and every failure recorded, and how runs flow through
// it on aws-local-stepfunctions with stubbed tasks) and what the stack synthesizes around it
// (the state machine, its role, the run log, the step functions' environment and grants).
import '../../local/stepfunctions/promise-with-resolvers.ts';
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { Match } from 'aws-cdk-lib/assertions';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  InvalidRequest,
  ModelNotFound,
  ModelUnavailable,
  NotConfigured,
  PayloadTooLarge,
  TransientError,
} from '../../functions/lib/errors.ts';
import type { RunLog } from '../../functions/lib/runs/run-log.ts';
import { PipelineState } from '../../functions/lib/runs/training-run.ts';
import { DataValidationFailed } from '../../functions/lib/validation/validate-dataset.ts';
import { recordRunFailure } from '../../functions/record-run-failure/core.ts';
import { TRAINING_ASL_FILE } from '../../infra/constructs/training-pipeline.ts';
import { synthStack } from './synth-stack.ts';
import { getAtt, idIn, roleIn, statementsIn } from './template-queries.ts';

interface Retrier {
  readonly ErrorEquals: string[];
  readonly IntervalSeconds?: number;
  readonly BackoffRate?: number;
  readonly MaxAttempts?: number;
  readonly JitterStrategy?: string;
}
interface Catcher {
  readonly ErrorEquals: string[];
  readonly ResultPath?: string | null;
  readonly Next: string;
}
interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: Retrier[];
  readonly Catch?: Catcher[];
  readonly Branches?: AslMachine[];
  readonly Parameters?: Record<string, unknown>;
}
interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const PLACEHOLDER = /\$\{([^}]*)\}/g;
const aslText = readFileSync(TRAINING_ASL_FILE, 'utf8');
const placeholders = [...new Set([...aslText.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))].sort();

/** What CloudFormation would substitute for a placeholder, by its kind. */
function realisticValue(name: string): string {
  if (name.endsWith('FunctionArn'))
    return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mlops-${name.slice(0, -'FunctionArn'.length)}`;
  if (name.endsWith('TopicArn')) return `arn:aws:sns:${REGION}:${ACCOUNT}:mlops-alarms`;
  if (name.endsWith('RoleArn')) return `arn:aws:iam::${ACCOUNT}:role/mlops-sagemaker-training`;
  if (name.endsWith('BucketName')) return `mlops-artifacts-${ACCOUNT}-${REGION}`;
  throw new Error(`no realistic value for placeholder \${${name}}`);
}

/** The ASL as deployed: a fresh copy with every placeholder filled in. */
const definition = (): AslMachine =>
  JSON.parse(aslText.replace(PLACEHOLDER, (_, name: string) => realisticValue(name))) as AslMachine;

/** Every state at any depth (Parallel branches included), by name. */
function allStates(machine: AslMachine): Array<[string, AslState]> {
  return Object.entries(machine.States).flatMap(
    ([name, state]): Array<[string, AslState]> => [
      [name, state],
      ...(state.Branches ?? []).flatMap(allStates),
    ],
  );
}

const asl = definition();
const lambdaTasks = allStates(asl).filter(
  ([, s]) => s.Type === 'Task' && s.Resource?.startsWith('arn:aws:lambda:'),
);
/** States of the failure path: they must never route back into it. */
const FAILURE_PATH = ['RecordFailure', 'PublishFailure'];

describe('training ASL (statemachines/training.asl.json)', () => {
  it('passes asl-validator once its placeholders hold realistic ARNs and names', () => {
    // Act
    const result = aslValidator(definition());

    // Assess
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('invokes the eight step functions, each from a Lambda task', () => {
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual([
      'BuildTestSet',
      'Evaluate',
      'ImportContainerModel',
      'Preprocess',
      'RecordFailure',
      'RegisterModel',
      'TrainModel',
      'ValidateData',
    ]);
  });

  it('retries every Lambda task on TransientError and Lambda throttling with jittered exponential backoff', () => {
    for (const [name, state] of lambdaTasks) {
      const retrier = state.Retry?.find(
        (r) =>
          r.ErrorEquals.includes('TransientError') &&
          r.ErrorEquals.includes('Lambda.TooManyRequestsException'),
      );
      expect(retrier, `${name} has no Retry for TransientError and Lambda throttling`).toBeDefined();
      expect(retrier?.BackoffRate, name).toBeGreaterThan(1);
      expect(retrier?.IntervalSeconds, name).toBeGreaterThan(0);
      expect(retrier?.MaxAttempts, name).toBeGreaterThan(1);
      expect(retrier?.JitterStrategy, name).toBe('FULL');
    }
  });

  it('sends every failure of a top-level step to RecordFailure with the error at $.error', () => {
    // Prepare
    const canFail = Object.entries(asl.States).filter(
      ([name, s]) => (s.Type === 'Task' || s.Type === 'Parallel') && !FAILURE_PATH.includes(name),
    );

    // Assess
    expect(canFail.map(([name]) => name)).toEqual([
      'ValidateData',
      'Preprocess',
      'TrainAndBuildTestSet',
      'Evaluate',
      'RegisterModel',
    ]);
    for (const [name, state] of canFail)
      expect(state.Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' },
      ]);
  });

  it('never routes a failure of the failure path back into it', () => {
    for (const name of FAILURE_PATH) {
      const targets = (asl.States[name]?.Catch ?? []).map((c) => c.Next);
      expect(targets.length, name).toBeGreaterThan(0);
      for (const target of targets)
        expect(FAILURE_PATH, `${name} catches into ${target}`).not.toContain(target);
    }
  });

  it('matches platform errors by the names of their classes in functions/', () => {
    // Prepare
    const emptyReport = { dataset: 'd', passed: false, rows: 0, validRows: 0, violations: [] };
    const classNames = new Set(
      [
        new TransientError('x'),
        new InvalidRequest('x'),
        new ConflictError('x'),
        new ModelNotFound('x'),
        new ModelUnavailable('x'),
        new PayloadTooLarge('x'),
        new NotConfigured('x'),
        new DataValidationFailed(emptyReport),
      ].map((e) => e.name),
    );

    // Act: every name in a Retry or Catch that is not AWS's own (States.*, Lambda.*, Sandbox.*, …).
    const used = allStates(asl)
      .flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])])
      .flatMap((r) => r.ErrorEquals)
      .filter((name) => !name.includes('.'));

    // Assess
    expect(used).toContain('TransientError');
    for (const name of used) expect(classNames, name).toContain(name);
  });
});

// ---------------------------------------------------------------------------------------------
// Runs through the ASL on aws-local-stepfunctions (the local runtime's engine), tasks stubbed.

type Handler = (input: Record<string, unknown>) => Promise<unknown>;

const machine = new StateMachine(definition() as never, {
  validationOptions: { checkPaths: true, checkArn: true },
});

/** A run log holding nothing: RecordFailure's core falls back to the first step. */
const emptyRunLog = {
  getRun: async () => undefined,
  runFailed: async () => undefined,
} as unknown as RunLog;

/** The run settings ValidateData hands on at `$.validation.settings` (see its tests). */
const settingsOf = ({ trainer, params, seed, container }: PipelineState) => ({
  trainer,
  params,
  seed,
  ...(container ? { container } : {}),
});

/**
 * Stubs of every task, answering as the real step would, with `overrides` replacing some; each
 * records the input it got. ValidateData's stub adds the run settings as the real step does.
 */
function tasks(overrides: Record<string, Handler> = {}) {
  const calls: Array<[string, Record<string, unknown>]> = [];
  const ok =
    (result: (input: Record<string, unknown>) => unknown): Handler =>
    async (input) =>
      result(input);
  const defaults: Record<string, Handler> = {
    ValidateData: ok((input) => ({
      datasetSha256: 'd'.repeat(64),
      rows: 20_000,
      validRows: 20_000,
      output: 's3://artifacts/runs/r1/validate/report.json',
      settings: settingsOf(PipelineState.parse(input)),
    })),
    Preprocess: ok(() => ({
      trainRows: 16_000,
      testRows: 4_000,
      rejectedRows: 0,
      output: 's3://a/runs/r1/preprocess/',
    })),
    TrainModel: ok(() => ({
      modelUri: 's3://a/m.onnx',
      modelSha256: 'e'.repeat(64),
      trainer: 'logreg',
      params: {},
      output: 's3://a/m.onnx',
    })),
    TrainInContainer: ok(() => ({
      TrainingJobName: 'r1-train',
      ModelArtifacts: { S3ModelArtifacts: 's3://a/model.tar.gz' },
    })),
    ImportContainerModel: ok(() => ({
      modelUri: 's3://a/m.onnx',
      modelSha256: 'e'.repeat(64),
      trainer: 'container',
      params: {},
      output: 's3://a/m.onnx',
    })),
    BuildTestSet: ok(() => ({
      rows: 4_000,
      subgroupColumn: 'origin_region',
      output: 's3://a/test-set.json',
    })),
    Evaluate: ok(() => ({
      auc: 0.65,
      logLoss: 0.5,
      gates: { passed: true, failures: [] },
      output: 's3://a/metrics.json',
    })),
    RegisterModel: ok(() => ({
      version: 3,
      stage: 'Staging',
      artifactUri: 's3://a/models/flights/3/model.onnx',
      output: 's3://a/models/flights/3/',
    })),
    RecordFailure: (input) => recordRunFailure(input, { runLog: emptyRunLog }),
    PublishFailure: ok(() => ({ MessageId: 'm-1' })),
  };
  const handlers = Object.fromEntries(
    Object.entries({ ...defaults, ...overrides }).map(([name, handler]) => [
      name,
      (input: Record<string, unknown>) => {
        calls.push([name, input]);
        return handler(input);
      },
    ]),
  );
  return { handlers, calls, called: () => calls.map(([name]) => name) };
}

const runInput = {
  runId: 'r1',
  model: 'flights',
  datasetUri: 's3://data/datasets/flights.json',
  featureSet: 'flights-v1',
};

async function run(input: Record<string, unknown>, stubs: ReturnType<typeof tasks>) {
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: stubs.handlers as never,
      retryIntervalOverrides: Object.fromEntries(lambdaTasks.map(([name]) => [name, 0])),
    },
  });
  try {
    return { output: (await execution.result) as unknown };
  } catch (err) {
    return { failure: err instanceof ExecutionError ? (err.cause as Error) : (err as Error) };
  }
}

describe('training ASL runs', () => {
  it('trains in the train function and registers when the input leaves the trainer out', async () => {
    // Prepare
    const stubs = tasks();

    // Act
    const outcome = await run(runInput, stubs);

    // Assess
    expect(outcome).toEqual({ output: expect.objectContaining({ version: 3, stage: 'Staging' }) });
    expect(stubs.called()).toEqual(expect.arrayContaining(['TrainModel', 'BuildTestSet', 'RegisterModel']));
    expect(stubs.called()).not.toContain('TrainInContainer');
  });

  it('starts the SageMaker training job with the defaults the input leaves out', async () => {
    // Prepare
    const stubs = tasks();
    const image = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/trainer:1`;

    // Act
    const outcome = await run({ ...runInput, trainer: 'container', container: { image } }, stubs);

    // Assess
    expect(outcome).toEqual({ output: expect.objectContaining({ version: 3 }) });
    const job = stubs.calls.find(([name]) => name === 'TrainInContainer')?.[1];
    expect(job).toMatchObject({
      TrainingJobName: 'r1-train',
      AlgorithmSpecification: { TrainingImage: image, TrainingInputMode: 'File' },
      RoleArn: realisticValue('SageMakerRoleArn'),
      HyperParameters: { run_id: 'r1', model: 'flights', params: '{}', seed: '0' },
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: {
            S3DataSource: {
              S3Uri: `s3://${realisticValue('ArtifactsBucketName')}/runs/r1/preprocess/train/`,
            },
          },
        },
      ],
      OutputDataConfig: {
        S3OutputPath: `s3://${realisticValue('ArtifactsBucketName')}/runs/r1/train/container`,
      },
      ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.xlarge' },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    });
    const imported = stubs.calls.find(([name]) => name === 'ImportContainerModel')?.[1];
    expect(imported?.containerJob).toEqual({
      modelArtifactsUri: 's3://a/model.tar.gz',
      trainingJobName: 'r1-train',
    });
    expect(stubs.called()).not.toContain('TrainModel');
  });

  it('retries a step that failed with TransientError, then carries on', async () => {
    // Prepare
    let attempts = 0;
    const stubs = tasks({
      Preprocess: async () => {
        attempts++;
        if (attempts === 1) throw new TransientError('ThrottlingException: slow down');
        return { trainRows: 1, testRows: 1, rejectedRows: 0, output: 's3://a/' };
      },
    });

    // Act
    const outcome = await run(runInput, stubs);

    // Assess
    expect(attempts).toBe(2);
    expect(outcome.output).toBeDefined();
    expect(stubs.called()).not.toContain('RecordFailure');
  });

  it('records, publishes and fails a run whose step failed, with the error the step threw', async () => {
    // Prepare
    const report = {
      dataset: 'flights',
      passed: false,
      rows: 20_000,
      validRows: 20_000,
      violations: [
        {
          expectation: 'maxNullRate' as const,
          column: 'distance',
          message: '30% null',
          count: 6000,
          examples: [],
        },
      ],
    };
    const stubs = tasks({
      ValidateData: async () => {
        throw new DataValidationFailed(report);
      },
    });

    // Act
    const outcome = await run(runInput, stubs);

    // Assess
    expect(stubs.called()).toEqual(['ValidateData', 'RecordFailure', 'PublishFailure']);
    const recorded = stubs.calls.find(([name]) => name === 'RecordFailure')?.[1];
    expect(recorded?.error).toEqual({
      Error: 'DataValidationFailed',
      Cause: expect.stringContaining('maxNullRate (distance)'),
    });
    const published = stubs.calls.find(([name]) => name === 'PublishFailure')?.[1];
    expect(published).toEqual({
      TopicArn: realisticValue('AlarmsTopicArn'),
      Subject: 'Training run r1 of flights failed at validate',
      Message: expect.stringContaining('"alarm":"TrainingRunFailed"'),
    });
    expect(outcome.failure?.name).toBe('DataValidationFailed');
    expect(outcome.failure?.message).toMatch(/^step validate: flights: 1 expectation failed/);
  });

  it('records a run whose gates failed as QualityGateFailed at evaluate, with every failed gate', async () => {
    // Prepare
    const failures = [
      'overall: AUC 0.550 is below the minimum 0.600',
      'subgroup origin_region=west: AUC 0.4',
    ];
    const stubs = tasks({
      Evaluate: async () => ({
        auc: 0.55,
        logLoss: 0.6,
        gates: { passed: false, failures },
        output: 's3://a/m.json',
      }),
    });

    // Act
    const outcome = await run(runInput, stubs);

    // Assess
    expect(stubs.called()).not.toContain('RegisterModel');
    expect(stubs.calls.find(([name]) => name === 'RecordFailure')?.[1].error).toEqual({
      Error: 'QualityGateFailed',
      Cause: failures[0],
    });
    expect(outcome.failure?.name).toBe('QualityGateFailed');
    expect(outcome.failure?.message).toBe(`step evaluate: ${failures.join('; ')}`);
  });
});

// ---------------------------------------------------------------------------------------------
// What the stack synthesizes.

const { template } = synthStack();
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;

const idOf = (type: string, props: Record<string, unknown> = {}) => idIn(template, type, props);

const stateMachineId = idOf('AWS::StepFunctions::StateMachine', {
  DefinitionSubstitutions: Match.objectLike({ ValidateDataFunctionArn: Match.anyValue() }),
});
const stateMachine = resources[stateMachineId]?.Properties ?? {};
const substitutions = stateMachine.DefinitionSubstitutions as Record<string, unknown>;
const runLogTableId = idOf('AWS::DynamoDB::Table', {
  KeySchema: [
    { AttributeName: 'runId', KeyType: 'HASH' },
    { AttributeName: 'item', KeyType: 'RANGE' },
  ],
});
const registryTableId = idOf('AWS::DynamoDB::Table', {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
});
const topicId = (substitutions.AlarmsTopicArn as { Ref: string }).Ref;
const artifactsBucketId = (substitutions.ArtifactsBucketName as { Ref: string }).Ref;
const sageMakerRoleId = idOf('AWS::IAM::Role', {
  AssumeRolePolicyDocument: Match.objectLike({
    Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
  }),
});

/** The step functions by construct name, found by the description each one carries. */
const STEP_DESCRIPTIONS = {
  ValidateData: 'data validation gate',
  Preprocess: 'split and fit the feature encoding',
  TrainModel: 'fit the model and export ONNX',
  BuildTestSet: 'encode the held-out test set',
  Evaluate: 'metrics, subgroups, calibration, gates, profile',
  RegisterModel: 'register the version as Staging',
  RecordFailure: 'record a failed run',
  ImportContainerModel: 'import a SageMaker job model.onnx',
} as const;
type StepFunctionName = keyof typeof STEP_DESCRIPTIONS;
const stepFunctionIds = Object.fromEntries(
  Object.entries(STEP_DESCRIPTIONS).map(([name, description]) => [
    name,
    idOf('AWS::Lambda::Function', { Description: `Training pipeline: ${description}` }),
  ]),
) as Record<StepFunctionName, string>;

const objectsArn = (bucketId: string, prefix: string) => ({
  'Fn::Join': ['', [getAtt(bucketId), `/${prefix}*`]],
});
const roleOf = (resourceId: string, property = 'Role') => roleIn(template, resourceId, property);
const statementsOf = (roleId: string) => statementsIn(template, roleId);

/** The statements of a role on `resource`, as [sorted actions]. */
const actionsOn = (roleId: string, resource: unknown) =>
  statementsOf(roleId)
    .filter((s) => [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(resource)))
    .map((s) => [s.Action].flat().sort());

describe('training pipeline stack', () => {
  it('fills every ASL placeholder from DefinitionSubstitutions, and substitutes nothing else', () => {
    expect(placeholders.length).toBeGreaterThan(0);
    expect(Object.keys(substitutions).sort()).toEqual(placeholders);
  });

  it('deploys the ASL file itself as a STANDARD state machine with full logging and tracing', () => {
    expect(JSON.parse(stateMachine.DefinitionString as string)).toEqual(JSON.parse(aslText));
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } },
        ],
      },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('lets the state machine invoke exactly the eight step functions, unqualified', () => {
    // Prepare
    const role = roleOf(stateMachineId, 'RoleArn');

    // Act
    const invoke = statementsOf(role).filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));

    // Assess
    expect(invoke.map((s) => [s.Action].flat())).toEqual([['lambda:InvokeFunction']]);
    const granted = invoke.flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(r));
    expect(granted.sort()).toEqual(
      Object.values(stepFunctionIds)
        .map((id) => JSON.stringify(getAtt(id)))
        .sort(),
    );
    expect(granted.join()).not.toContain(':*');
  });

  it('lets the state machine publish to the alarms topic only', () => {
    const role = roleOf(stateMachineId, 'RoleArn');
    expect(actionsOn(role, { Ref: topicId })).toEqual([['sns:Publish']]);
    const publish = statementsOf(role).filter((s) => [s.Action].flat().includes('sns:Publish'));
    expect(publish.map((s) => s.Resource)).toEqual([{ Ref: topicId }]);
  });

  it('lets the state machine run SageMaker training jobs and pass them their role', () => {
    const role = roleOf(stateMachineId, 'RoleArn');
    const trainingJobs = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':sagemaker:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':training-job/*',
        ],
      ],
    };
    expect(actionsOn(role, trainingJobs)).toEqual([
      [
        'sagemaker:AddTags',
        'sagemaker:CreateTrainingJob',
        'sagemaker:DescribeTrainingJob',
        'sagemaker:StopTrainingJob',
      ],
    ]);
    expect(actionsOn(role, getAtt(sageMakerRoleId))).toEqual([['iam:PassRole']]);
    expect(substitutions.SageMakerRoleArn).toEqual(getAtt(sageMakerRoleId));
    const passRole = statementsOf(role).filter((s) => [s.Action].flat().includes('iam:PassRole'));
    expect(passRole.map((s) => s.Resource)).toEqual([getAtt(sageMakerRoleId)]);
  });

  it('keeps the run log in a table keyed (runId, item), encrypted, retained and recoverable', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'runId', KeyType: 'HASH' },
          { AttributeName: 'item', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'runId', AttributeType: 'S' },
          { AttributeName: 'item', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it('gives every step function the run log table and the artifacts bucket', () => {
    for (const [name, id] of Object.entries(stepFunctionIds)) {
      const variables = resources[id]?.Properties.Environment?.Variables as Record<string, unknown>;
      expect(variables, name).toMatchObject({
        RUNS_TABLE: { Ref: runLogTableId },
        ARTIFACTS_BUCKET: { Ref: artifactsBucketId },
      });
    }
  });

  it('outputs the pipeline ARN, the run log table name and the alarms topic ARN', () => {
    template.hasOutput('TrainingPipelineArn', { Value: { Ref: stateMachineId } });
    template.hasOutput('RunsTableName', { Value: { Ref: runLogTableId } });
    template.hasOutput('AlarmsTopicArn', { Value: { Ref: topicId } });
  });
});

describe('training pipeline grants', () => {
  const roles = Object.fromEntries(
    Object.entries(stepFunctionIds).map(([name, id]) => [name, roleOf(id)]),
  ) as Record<StepFunctionName, string>;
  const dataBucketId = (() => {
    const variables = resources[stepFunctionIds.ValidateData]?.Properties.Environment?.Variables as Record<
      string,
      { Ref: string }
    >;
    return variables.DATA_BUCKET?.Ref ?? '';
  })();

  it('lets every step function record itself in the run log with upserts and reads only', () => {
    for (const [name, role] of Object.entries(roles))
      expect(actionsOn(role, getAtt(runLogTableId)), name).toEqual([
        ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      ]);
  });

  it("lets every step function read and overwrite the run's files under runs/, without deletes", () => {
    for (const [name, role] of Object.entries(roles))
      expect(actionsOn(role, objectsArn(artifactsBucketId, 'runs/')), name).toEqual([
        ['s3:GetObject', 's3:PutObject'],
      ]);
  });

  it("lets SageMaker training jobs read and write the run's files, and nothing else of the buckets", () => {
    // Act
    const bucketStatements = statementsOf(sageMakerRoleId).filter((s) =>
      [s.Action].flat().some((a) => a.startsWith('s3:')),
    );

    // Assess
    expect(bucketStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: objectsArn(artifactsBucketId, 'runs/'),
      },
    ]);
  });

  it('lets ValidateData and Preprocess, and no other step, read datasets', () => {
    for (const [name, role] of Object.entries(roles)) {
      const expected = name === 'ValidateData' || name === 'Preprocess' ? [['s3:GetObject']] : [];
      expect(actionsOn(role, objectsArn(dataBucketId, 'datasets/')), name).toEqual(expected);
    }
  });

  it('lets RegisterModel, and no other step, write the registry and put model artifacts', () => {
    for (const [name, role] of Object.entries(roles)) {
      const registers = name === 'RegisterModel';
      expect(actionsOn(role, getAtt(registryTableId)), name).toEqual(
        registers
          ? [
              [
                'dynamodb:GetItem',
                'dynamodb:PutItem',
                'dynamodb:Query',
                'dynamodb:Scan',
                'dynamodb:UpdateItem',
              ],
            ]
          : [],
      );
      expect(actionsOn(role, objectsArn(artifactsBucketId, 'models/')), name).toEqual(
        registers ? [['s3:PutObject']] : [],
      );
    }
    const variables = resources[stepFunctionIds.RegisterModel]?.Properties.Environment?.Variables;
    expect(variables).toMatchObject({ REGISTRY_TABLE: { Ref: registryTableId } });
  });
});
