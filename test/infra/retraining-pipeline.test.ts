// The retraining pipeline: its ASL file (valid, filled in exactly by the construct's substitutions,
// the nested training run named after the challenger's run id, every failure described, and how
// executions flow through it on aws-local-stepfunctions with stubbed tasks and the real outcome
// core) and what the construct synthesizes (the state machine, its exact rights, the functions'
// environment and grants, the deployment's policy).
import '../../local/stepfunctions/promise-with-resolvers.ts';
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { describeRetrainingOutcome } from '../../functions/describe-retraining-outcome/core.ts';
import { ConflictError, TransientError } from '../../functions/lib/errors.ts';
import { InsufficientLabelledData } from '../../functions/lib/retraining/ground-truth.ts';
import { ArtifactStore } from '../../infra/constructs/artifact-store.ts';
import { DataStore } from '../../infra/constructs/data-store.ts';
import { ModelRegistry } from '../../infra/constructs/model-registry.ts';
import { OnnxRuntimeLayer } from '../../infra/constructs/onnx-runtime-layer.ts';
import {
  RETRAINING_ASL_FILE,
  RetrainingPipeline,
  type RetrainingPipelineProps,
} from '../../infra/constructs/retraining-pipeline.ts';
import { SecureBucket } from '../../infra/constructs/secure-bucket.ts';
import { memoryObjectStore } from '../support/memory-object-store.ts';
import { synthStack } from './synth-stack.ts';
import { getAtt, idIn, roleIn, statementsIn } from './template-queries.ts';

interface Retrier {
  readonly ErrorEquals: string[];
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
  readonly Parameters?: Record<string, unknown>;
  readonly ResultPath?: string | null;
  readonly Retry?: Retrier[];
  readonly Catch?: Catcher[];
}
interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const PLACEHOLDER = /\$\{([^}]*)\}/g;
const aslText = readFileSync(RETRAINING_ASL_FILE, 'utf8');
const placeholders = [...new Set([...aslText.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))].sort();
const TRAINING_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:mlops-training`;
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:mlops-notifications`;
const RELEASE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:mlops-release`;

/** What CloudFormation would substitute for a placeholder, by its kind. */
function realisticValue(name: string): string {
  if (name.endsWith('FunctionArn'))
    return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mlops-${name.slice(0, -'FunctionArn'.length)}`;
  if (name === 'TrainingPipelineArn') return TRAINING_ARN;
  if (name === 'ReleasePipelineArn') return RELEASE_ARN;
  if (name.endsWith('TopicArn')) return TOPIC_ARN;
  throw new Error(`no realistic value for placeholder \${${name}}`);
}

const definition = (): AslMachine =>
  JSON.parse(aslText.replace(PLACEHOLDER, (_, name: string) => realisticValue(name))) as AslMachine;
const asl = definition();
const states = Object.entries(asl.States);
const lambdaTasks = states.filter(([, s]) => s.Type === 'Task' && s.Resource?.startsWith('arn:aws:lambda:'));

describe('retraining ASL (statemachines/retraining.asl.json)', () => {
  it('passes asl-validator once its placeholders hold realistic ARNs', () => {
    const result = aslValidator(definition());

    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('invokes the four retraining functions from Lambda tasks, each retried on transient faults with jittered backoff', () => {
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual([
      'CompareChallenger',
      'DescribeOutcome',
      'PrepareRetrainingData',
      'PromoteChallenger',
    ]);
    for (const [name, state] of lambdaTasks) {
      const retrier = state.Retry?.find(
        (r) =>
          r.ErrorEquals.includes('TransientError') &&
          r.ErrorEquals.includes('Lambda.TooManyRequestsException'),
      );
      expect(retrier?.BackoffRate, name).toBeGreaterThan(1);
      expect(retrier?.MaxAttempts, name).toBeGreaterThan(1);
      expect(retrier?.JitterStrategy, name).toBe('FULL');
    }
  });

  it('trains the challenger as a nested training execution named after its run id, never retried into a second run', () => {
    const train = asl.States.TrainChallenger;

    expect(train?.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(train?.Parameters).toEqual({
      StateMachineArn: TRAINING_ARN,
      'Name.$': '$.prepared.trainingRun.runId',
      'Input.$': '$.prepared.trainingRun',
    });
    expect(train?.Retry).toBeUndefined();
  });

  it('sends every failure of a step to DescribeOutcome, each at its own path, and never overwrites the state whole', () => {
    const steps = ['PrepareRetrainingData', 'TrainChallenger', 'CompareChallenger', 'PromoteChallenger'];
    const paths = steps.map((name) => asl.States[name]?.Catch);

    expect(paths).toEqual([
      [{ ErrorEquals: ['States.ALL'], ResultPath: '$.prepareError', Next: 'DescribeOutcome' }],
      [{ ErrorEquals: ['States.ALL'], ResultPath: '$.trainingError', Next: 'DescribeOutcome' }],
      [{ ErrorEquals: ['States.ALL'], ResultPath: '$.compareError', Next: 'DescribeOutcome' }],
      [{ ErrorEquals: ['States.ALL'], ResultPath: '$.promoteError', Next: 'DescribeOutcome' }],
    ]);
    for (const [name, state] of states) expect(state.ResultPath, name).not.toBe('$');
  });

  it('matches platform errors by the names of their classes', () => {
    const names = new Set([new TransientError('x').name]);

    const used = states
      .flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])])
      .flatMap((r) => r.ErrorEquals)
      .filter((name) => !name.includes('.'));

    for (const name of used) expect(names, name).toContain(name);
  });
});

// ---------------------------------------------------------------------------------------------
// Runs through the ASL on aws-local-stepfunctions, tasks stubbed, the outcome described by its core.

type Handler = (input: Record<string, any>) => Promise<unknown>;

const machine = new StateMachine(definition() as never, {
  validationOptions: { checkPaths: true, checkArn: true },
});

const request = {
  model: 'flight-delay',
  trigger: 'drift',
  window: { start: '2026-11-27T06:00:00Z', end: '2026-11-27T07:00:00Z' },
  reason: 'distance PSI 0.31 in 2 consecutive windows',
};
const EXECUTION = 'flight-delay-drift-20261127T070000Z';

const prepared = {
  executionName: EXECUTION,
  model: 'flight-delay',
  featureSet: 'flights-v1',
  policy: {
    minAucGain: 0.005,
    maxSubgroupAucLoss: 0.02,
    minSubgroupRows: 200,
    lookbackDays: 7,
    minLabelledRows: 2000,
    holdoutShare: 0.3,
    promoteBy: 'release',
    release: { strategy: 'canary', bake: '10m' },
  },
  reference: { version: 3, stage: 'Production' },
  trainingRun: {
    runId: EXECUTION,
    model: 'flight-delay',
    datasetUri: 's3://data/datasets/retraining/x.jsonl',
  },
  train: { uri: 's3://data/datasets/retraining/x.jsonl', rows: 7000, positives: 1500 },
  holdout: { uri: 's3://artifacts/retraining/x/holdout.jsonl', rows: 3000, positives: 650 },
  groundTruth: {
    partitions: [],
    files: 2,
    skippedFiles: 0,
    validRows: 10_000,
    rejectedRows: 3,
    duplicateRows: 0,
  },
  output: `s3://artifacts/retraining/${EXECUTION}/ground-truth.json`,
  release: {
    executionName: `${EXECUTION}-release`,
    request: {
      strategy: 'canary',
      bake: '10m',
      model: 'flight-delay',
      requestedBy: `retraining:${EXECUTION}`,
    },
  },
};
/** The same preparation under a policy that promotes by the registry write. */
const preparedForRegistry = { ...prepared, policy: { ...prepared.policy, promoteBy: 'registry' } };

const comparison = (decision: 'promote' | 'keep', reasons: string[]) => ({
  decision,
  reasons,
  champion: { version: 3, auc: 0.64 },
  challenger: { version: 5, auc: decision === 'promote' ? 0.7 : 0.641 },
  aucGain: decision === 'promote' ? 0.06 : 0.001,
  stageRevision: 4,
  holdoutRows: 3000,
  output: `s3://artifacts/retraining/${EXECUTION}/comparison.json`,
});

/** The training pipeline's failure as `startExecution.sync:2` reports it. */
function childFailed(error: string, cause: string): Error {
  const err = new Error(
    JSON.stringify({
      ExecutionArn: `${TRAINING_ARN}:${EXECUTION}`,
      Status: 'FAILED',
      Error: error,
      Cause: cause,
    }),
  );
  err.name = 'States.TaskFailed';
  return err;
}

function tasks(overrides: Record<string, Handler> = {}) {
  const calls: Array<[string, Record<string, any>]> = [];
  const artifacts = memoryObjectStore('artifacts');
  const defaults: Record<string, Handler> = {
    PrepareRetrainingData: async () => prepared,
    TrainChallenger: async () => ({
      ExecutionArn: `${TRAINING_ARN}:${EXECUTION}`,
      Status: 'SUCCEEDED',
      Output: {
        version: 5,
        stage: 'Staging',
        artifactUri: 's3://artifacts/models/flight-delay/5/model.onnx',
      },
    }),
    CompareChallenger: async () => comparison('promote', ['challenger v5 vs champion v3: +0.060']),
    PromoteChallenger: async () => ({ version: 5, previousVersion: 3, stage: 'Production', actor: 'x' }),
    ReleaseChallenger: async (input) => ({
      ExecutionArn: `${RELEASE_ARN.replace(':stateMachine:', ':execution:')}:${input.Name}`,
      StartDate: 1_790_000_000_000,
    }),
    DescribeOutcome: (input) => describeRetrainingOutcome(input, { artifacts }),
    PublishOutcome: async () => ({ MessageId: 'm-1' }),
    PublishFailure: async () => ({ MessageId: 'm-2' }),
  };
  const handlers = Object.fromEntries(
    Object.entries({ ...defaults, ...overrides }).map(([name, handler]) => [
      name,
      (input: Record<string, any>) => {
        calls.push([name, input]);
        return handler(input);
      },
    ]),
  );
  return {
    handlers,
    calls,
    called: () => calls.map(([name]) => name),
    input: (name: string) => calls.find(([n]) => n === name)?.[1],
    artifacts,
  };
}

async function run(stubs: ReturnType<typeof tasks>) {
  const execution = machine.run(request as never, {
    overrides: {
      taskResourceLocalHandlers: stubs.handlers as never,
      retryIntervalOverrides: Object.fromEntries(lambdaTasks.map(([name]) => [name, 0])),
    },
    context: { Execution: { Name: EXECUTION, Id: `arn:aws:states:::execution:retraining:${EXECUTION}` } },
  });
  try {
    return { output: (await execution.result) as Record<string, any> };
  } catch (err) {
    return { failure: err instanceof ExecutionError ? (err.cause as Error) : (err as Error) };
  }
}

describe('retraining ASL runs', () => {
  it('trains, compares, and starts the release of a winning challenger with the policy’s settings', async () => {
    const stubs = tasks();

    const outcome = await run(stubs);

    expect(stubs.called()).toEqual([
      'PrepareRetrainingData',
      'TrainChallenger',
      'CompareChallenger',
      'ReleaseChallenger',
      'DescribeOutcome',
      'PublishOutcome',
    ]);
    // The release's input: the policy's settings, the model, who asked, and the challenger's version.
    expect(stubs.input('ReleaseChallenger')).toEqual({
      StateMachineArn: RELEASE_ARN,
      Name: `${EXECUTION}-release`,
      Input: { ...prepared.release.request, version: 5 },
    });
    expect(stubs.input('PublishOutcome')).toMatchObject({
      TopicArn: TOPIC_ARN,
      Subject: 'Retraining flight-delay: releasing challenger v5 (holdout AUC +0.060)',
    });
    expect(outcome.output).toMatchObject({
      status: 'releasing',
      summary: expect.stringContaining(
        `release ${EXECUTION}-release makes it Production only if it stays healthy`,
      ),
    });
  });

  it('fails, publishing why, when the release cannot be started', async () => {
    const stubs = tasks({
      ReleaseChallenger: async () => {
        const err = new Error('User is not authorized to perform: states:StartExecution');
        err.name = 'StepFunctions.AccessDeniedException';
        throw err;
      },
    });

    const outcome = await run(stubs);

    expect(stubs.called()).toContain('PublishFailure');
    expect(outcome.failure?.name).toBe('StepFunctions.AccessDeniedException');
  });

  it('trains, compares, promotes at the compared revision and publishes the promotion (promoteBy registry)', async () => {
    const stubs = tasks({ PrepareRetrainingData: async () => preparedForRegistry });

    const outcome = await run(stubs);

    expect(stubs.called()).toEqual([
      'PrepareRetrainingData',
      'TrainChallenger',
      'CompareChallenger',
      'PromoteChallenger',
      'DescribeOutcome',
      'PublishOutcome',
    ]);
    expect(stubs.input('PrepareRetrainingData')).toEqual({ request, executionName: EXECUTION });
    expect(stubs.input('TrainChallenger')).toEqual({
      StateMachineArn: TRAINING_ARN,
      Name: EXECUTION,
      Input: prepared.trainingRun,
    });
    expect(stubs.input('CompareChallenger')).toEqual({
      model: 'flight-delay',
      executionName: EXECUTION,
      featureSet: 'flights-v1',
      holdoutUri: prepared.holdout.uri,
      policy: preparedForRegistry.policy,
      challengerVersion: 5,
    });
    expect(stubs.input('PromoteChallenger')).toEqual({
      model: 'flight-delay',
      executionName: EXECUTION,
      challengerVersion: 5,
      championVersion: 3,
      expectedRevision: 4,
      reasons: ['challenger v5 vs champion v3: +0.060'],
    });
    expect(stubs.input('PublishOutcome')).toMatchObject({
      TopicArn: TOPIC_ARN,
      Subject: 'Retraining flight-delay: promoted challenger v5 (holdout AUC +0.060)',
    });
    expect(outcome.output).toMatchObject({ status: 'promoted' });
  });

  it('keeps the champion when the comparison says so, publishing why, and succeeds', async () => {
    const reasons = [
      'challenger v5 vs champion v3: holdout AUC 0.641 vs 0.640, +0.001, less than the +0.005 required',
    ];
    const stubs = tasks({ CompareChallenger: async () => comparison('keep', reasons) });

    const outcome = await run(stubs);

    expect(stubs.called()).not.toContain('PromoteChallenger');
    expect(outcome.output).toMatchObject({ status: 'kept', summary: `kept champion v3: ${reasons[0]}` });
    const message = JSON.parse(stubs.input('PublishOutcome')?.Message);
    expect(message).toMatchObject({
      event: 'RetrainingDecision',
      outcome: 'kept',
      reasons,
      trigger: 'drift',
    });
  });

  it('keeps the champion without training when there is not enough labelled data', async () => {
    const stubs = tasks({
      PrepareRetrainingData: async () => {
        throw new InsufficientLabelledData('812 valid labelled rows in the window, at least 7,143 needed');
      },
    });

    const outcome = await run(stubs);

    expect(stubs.called()).toEqual(['PrepareRetrainingData', 'DescribeOutcome', 'PublishOutcome']);
    expect(outcome.output).toMatchObject({
      status: 'kept',
      summary: expect.stringMatching(/^kept the champion: not enough labelled data: 812 valid labelled rows/),
    });
  });

  it("keeps the champion when the challenger's training run stops at its gates", async () => {
    const stubs = tasks({
      TrainChallenger: async () => {
        throw childFailed(
          'QualityGateFailed',
          'step evaluate: overall: AUC 0.550 is below the minimum 0.600',
        );
      },
    });

    const outcome = await run(stubs);

    expect(stubs.called()).not.toContain('CompareChallenger');
    expect(outcome.output?.summary).toBe(
      `kept champion v3: the challenger's training run ${EXECUTION} stopped at its gates (QualityGateFailed): ` +
        'step evaluate: overall: AUC 0.550 is below the minimum 0.600',
    );
  });

  it('keeps the champion when its stages changed after the comparison (the compare-and-set lost)', async () => {
    const stubs = tasks({
      PrepareRetrainingData: async () => preparedForRegistry,
      PromoteChallenger: async () => {
        throw new ConflictError(
          'the stages of flight-delay changed after the comparison (Production is now v4 …)',
        );
      },
    });

    const outcome = await run(stubs);

    expect(outcome.output).toMatchObject({
      status: 'kept',
      summary: expect.stringContaining('changed after the comparison (Production is now v4'),
    });
  });

  it('fails, publishing the failure, when no decision could be made', async () => {
    const stubs = tasks({
      CompareChallenger: async () => {
        throw new Error('onnxruntime exploded');
      },
    });

    const outcome = await run(stubs);

    expect(stubs.called()).toEqual([
      'PrepareRetrainingData',
      'TrainChallenger',
      'CompareChallenger',
      'DescribeOutcome',
      'PublishFailure',
    ]);
    expect(stubs.input('PublishFailure')).toMatchObject({
      TopicArn: TOPIC_ARN,
      Subject: 'Retraining flight-delay failed at CompareChallenger',
    });
    expect(outcome.failure?.name).toBe('Error');
    expect(outcome.failure?.message).toBe('step CompareChallenger: onnxruntime exploded');
  });

  it('retries a transient fault of a step, then carries on', async () => {
    let attempts = 0;
    const stubs = tasks({
      CompareChallenger: async () => {
        attempts++;
        if (attempts === 1) throw new TransientError('ThrottlingException: slow down');
        return comparison('keep', ['tie']);
      },
    });

    const outcome = await run(stubs);

    expect(attempts).toBe(2);
    expect(outcome.output).toMatchObject({ status: 'kept' });
  });
});

// ---------------------------------------------------------------------------------------------
// What the platform stack synthesizes.

const { template } = synthStack();
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;

const idOf = (type: string, props: Record<string, unknown> = {}) => idIn(template, type, props);

const stateMachineId = idOf('AWS::StepFunctions::StateMachine', {
  DefinitionSubstitutions: Match.objectLike({ CompareChallengerFunctionArn: Match.anyValue() }),
});
const trainingMachineId = idOf('AWS::StepFunctions::StateMachine', {
  DefinitionSubstitutions: Match.objectLike({ ValidateDataFunctionArn: Match.anyValue() }),
});
const releaseMachineId = idOf('AWS::StepFunctions::StateMachine', {
  DefinitionSubstitutions: Match.objectLike({ DecideChallengerFunctionArn: Match.anyValue() }),
});
const substitutions = resources[stateMachineId]?.Properties.DefinitionSubstitutions as Record<string, any>;
const registryTableId = idOf('AWS::DynamoDB::Table', {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
});

const FUNCTION_DESCRIPTIONS = {
  PrepareRetrainingData: 'gather and split the recent labelled window',
  CompareChallenger: 'champion vs challenger on the same holdout',
  PromoteChallenger: 'compare-and-set promotion of the challenger',
  DescribeRetrainingOutcome: 'describe and record the outcome',
} as const;
type FunctionName = keyof typeof FUNCTION_DESCRIPTIONS;
const functionIds = Object.fromEntries(
  Object.entries(FUNCTION_DESCRIPTIONS).map(([name, description]) => [
    name,
    idOf('AWS::Lambda::Function', { Description: `Retraining: ${description}` }),
  ]),
) as Record<FunctionName, string>;
const variablesOf = (name: FunctionName) =>
  (resources[functionIds[name]]?.Properties.Environment?.Variables ?? {}) as Record<string, any>;
const artifactsBucketId = variablesOf('CompareChallenger').ARTIFACTS_BUCKET.Ref as string;
const dataBucketId = variablesOf('PrepareRetrainingData').DATA_BUCKET.Ref as string;

const objectsArn = (bucketId: string, prefix: string) => ({
  'Fn::Join': ['', [getAtt(bucketId), `/${prefix}*`]],
});
const roleOf = (resourceId: string, property = 'Role') => roleIn(template, resourceId, property);
const statementsOf = (roleId: string) => statementsIn(template, roleId);
const actionsOn = (roleId: string, resource: unknown) =>
  statementsOf(roleId)
    .filter((s) => [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(resource)))
    .map((s) => [s.Action].flat().sort());
/** Every resource a role may touch in `service` (`s3`, `dynamodb`, …), by action. */
const serviceStatements = (roleId: string, service: string) =>
  statementsOf(roleId).filter((s) => [s.Action].flat().some((a) => a.startsWith(`${service}:`)));

describe('retraining pipeline stack', () => {
  const machineRole = roleOf(stateMachineId, 'RoleArn');

  it('fills every ASL placeholder from DefinitionSubstitutions, and substitutes nothing else', () => {
    expect(Object.keys(substitutions).sort()).toEqual(placeholders);
    expect(substitutions.TrainingPipelineArn).toEqual({ Ref: trainingMachineId });
    expect(substitutions.PrepareRetrainingDataFunctionArn).toEqual(getAtt(functionIds.PrepareRetrainingData));
  });

  it('deploys the ASL file itself as a STANDARD state machine with logging and tracing', () => {
    expect(JSON.parse(resources[stateMachineId]?.Properties.DefinitionString)).toEqual(JSON.parse(aslText));
    expect(resources[stateMachineId]?.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL' },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('lets the state machine invoke exactly its four functions', () => {
    const invoke = statementsOf(machineRole).filter((s) =>
      [s.Action].flat().includes('lambda:InvokeFunction'),
    );

    expect(invoke.map((s) => [s.Action].flat())).toEqual([['lambda:InvokeFunction']]);
    expect(
      invoke
        .flatMap((s) => [s.Resource].flat())
        .map((r) => JSON.stringify(r))
        .sort(),
    ).toEqual(
      Object.values(functionIds)
        .map((id) => JSON.stringify(getAtt(id)))
        .sort(),
    );
  });

  it('lets the state machine start, watch and stop training runs, through the managed .sync rule, and nothing else', () => {
    const states = serviceStatements(machineRole, 'states');
    const events = serviceStatements(machineRole, 'events');

    expect(states.map((s) => [[s.Action].flat().sort(), s.Resource])).toEqual([
      // The training run, and a winning challenger's release (fire and forget: neither watched nor stopped).
      [['states:StartExecution'], [{ Ref: releaseMachineId }, { Ref: trainingMachineId }]],
      [
        ['states:DescribeExecution', 'states:StopExecution'],
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':states:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':execution:',
              { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: trainingMachineId }] }] },
              ':*',
            ],
          ],
        },
      ],
    ]);
    expect(events.map((s) => [[s.Action].flat().sort(), s.Resource])).toEqual([
      [
        ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':events:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':rule/StepFunctionsGetEventsForStepFunctionsExecutionRule',
            ],
          ],
        },
      ],
    ]);
  });

  it('lets the state machine publish to the notifications topic only', () => {
    const publish = serviceStatements(machineRole, 'sns');

    expect(publish.map((s) => [[s.Action].flat(), s.Resource])).toEqual([
      [['sns:Publish'], substitutions.NotificationsTopicArn],
    ]);
  });

  it('outputs the retraining state machine ARN', () => {
    template.hasOutput('RetrainingPipelineArn', { Value: { Ref: stateMachineId } });
  });
});

describe('retraining grants', () => {
  const roles = Object.fromEntries(
    Object.entries(functionIds).map(([name, id]) => [name, roleOf(id)]),
  ) as Record<FunctionName, string>;

  it('lets PrepareRetrainingData list and read ground truth, write the challenger dataset and its working files', () => {
    const grants = serviceStatements(roles.PrepareRetrainingData, 's3').flatMap((s) =>
      [s.Resource].flat().map((resource) => [[s.Action].flat().sort(), resource, s.Condition ?? null]),
    );

    expect(grants.map((g) => JSON.stringify(g)).sort()).toEqual(
      [
        [['s3:ListBucket'], getAtt(dataBucketId), { StringLike: { 's3:prefix': ['ground-truth/*'] } }],
        [['s3:GetObject'], objectsArn(dataBucketId, 'ground-truth/'), null],
        [['s3:PutObject'], objectsArn(dataBucketId, 'datasets/retraining/'), null],
        [['s3:PutObject'], objectsArn(artifactsBucketId, 'retraining/'), null],
      ]
        .map((g) => JSON.stringify(g))
        .sort(),
    );
  });

  it('lets CompareChallenger read models, and read and write the working files', () => {
    expect(actionsOn(roles.CompareChallenger, objectsArn(artifactsBucketId, 'models/'))).toEqual([
      ['s3:GetObject'],
    ]);
    expect(actionsOn(roles.CompareChallenger, objectsArn(artifactsBucketId, 'retraining/'))).toEqual([
      ['s3:GetObject', 's3:PutObject'],
    ]);
    expect(serviceStatements(roles.CompareChallenger, 's3')).toHaveLength(2);
  });

  it('lets DescribeRetrainingOutcome write its working files and nothing else of S3', () => {
    expect(
      serviceStatements(roles.DescribeRetrainingOutcome, 's3').map((s) => [s.Action, s.Resource]),
    ).toEqual([['s3:PutObject', objectsArn(artifactsBucketId, 'retraining/')]]);
  });

  it('lets PromoteChallenger, and no other retraining function, write the registry; touches no bucket', () => {
    for (const [name, role] of Object.entries(roles)) {
      const expected =
        name === 'PromoteChallenger'
          ? [
              [
                'dynamodb:GetItem',
                'dynamodb:PutItem',
                'dynamodb:Query',
                'dynamodb:Scan',
                'dynamodb:UpdateItem',
              ],
            ]
          : name === 'DescribeRetrainingOutcome'
            ? []
            : [['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']];
      expect(actionsOn(role, getAtt(registryTableId)), name).toEqual(expected);
    }
    expect(serviceStatements(roles.PromoteChallenger, 's3')).toEqual([]);
  });

  it('gives the training pipeline no new rights: it reads the challenger dataset under datasets/', () => {
    const validate = idOf('AWS::Lambda::Function', {
      Description: 'Training pipeline: data validation gate',
    });

    expect(actionsOn(roleOf(validate), objectsArn(dataBucketId, 'datasets/'))).toEqual([['s3:GetObject']]);
  });

  it('gives the functions the buckets, the registry and the policy they read', () => {
    expect(variablesOf('PrepareRetrainingData')).toMatchObject({
      DATA_BUCKET: { Ref: dataBucketId },
      ARTIFACTS_BUCKET: { Ref: artifactsBucketId },
      REGISTRY_TABLE: { Ref: registryTableId },
      RETRAINING_POLICY: '{}',
    });
    expect(variablesOf('CompareChallenger')).toMatchObject({ REGISTRY_TABLE: { Ref: registryTableId } });
    expect(variablesOf('PromoteChallenger')).toMatchObject({ REGISTRY_TABLE: { Ref: registryTableId } });
    expect(variablesOf('DescribeRetrainingOutcome').REGISTRY_TABLE).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The construct on its own: the deployment's policy.

/** The feature flags of cdk.json, as `cdk synth` applies them. */
const cdkJsonContext = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

function standalone(props: Partial<RetrainingPipelineProps> = {}, release = true) {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Standalone');
  const accessLogs = new SecureBucket(stack, 'Logs').bucket;
  const pipeline = new RetrainingPipeline(stack, 'Retraining', {
    registry: new ModelRegistry(stack, 'Registry'),
    artifacts: new ArtifactStore(stack, 'Artifacts', { accessLogs }),
    data: new DataStore(stack, 'Data', { accessLogs }),
    onnxRuntime: new OnnxRuntimeLayer(stack, 'Onnx'),
    trainingPipeline: sfn.StateMachine.fromStateMachineName(stack, 'Training', 'mlops-training'),
    notificationsTopic: new sns.Topic(stack, 'Notifications'),
    ...props,
  });
  if (release)
    pipeline.releaseThrough(sfn.StateMachine.fromStateMachineName(stack, 'Release', 'mlops-release'));
  return { pipeline, template: Template.fromStack(stack) };
}

describe('RetrainingPipeline props', () => {
  it("hands the deployment's margin, ε and lookback to PrepareRetrainingData", () => {
    const { template: t } = standalone({ minAucGain: 0.01, maxSubgroupAucLoss: 0.03, lookbackDays: 14 });

    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Retraining: gather and split the recent labelled window',
      Environment: {
        Variables: Match.objectLike({
          RETRAINING_POLICY: JSON.stringify({ minAucGain: 0.01, maxSubgroupAucLoss: 0.03, lookbackDays: 14 }),
        }),
      },
    });
  });

  it('hands the release settings of a winning challenger to PrepareRetrainingData, and lets the machine start releases', () => {
    const { template: t } = standalone({
      release: { strategy: 'champion-challenger', slice: 10, window: '24h' },
    });

    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Retraining: gather and split the recent labelled window',
      Environment: {
        Variables: Match.objectLike({
          RETRAINING_POLICY: JSON.stringify({
            release: { strategy: 'champion-challenger', slice: 10, window: '24h' },
          }),
        }),
      },
    });
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    expect(JSON.stringify(statements.filter((st) => st.Action === 'states:StartExecution'))).toContain(
      'stateMachine:mlops-release',
    );
  });

  it('refuses to synthesize a release promotion without a release pipeline to start', () => {
    expect(() => standalone({}, false)).toThrow(/promoteBy is release, but no release pipeline was given/);
  });

  it('promotes by the registry without a release pipeline when told so', () => {
    const { template: t } = standalone({ promoteBy: 'registry' }, false);

    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Retraining: gather and split the recent labelled window',
      Environment: {
        Variables: Match.objectLike({ RETRAINING_POLICY: JSON.stringify({ promoteBy: 'registry' }) }),
      },
    });
  });

  it('fails on a holdout share outside (0, 1), showing the value', () => {
    expect(() => standalone({ holdoutShare: 1.5 })).toThrow(/holdoutShare .*\(got 1\.5\)/);
  });
});
