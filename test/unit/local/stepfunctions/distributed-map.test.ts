// Distributed Map states on the local engine: the ItemReader, ItemSelector and ItemBatcher run
// in an inserted reader state over a fake reader; the ItemProcessor runs per batch in the library.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FunctionError } from '../../../../local/lambda/function-runtime.ts';
import { parseFunctionRef } from '../../../../local/lambda/lambda-service.ts';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import type { AslMachine } from '../../../../local/stepfunctions/asl.ts';
import { localDistributedMaps } from '../../../../local/stepfunctions/distributed-map.ts';
import type { ItemSource, ReadItems } from '../../../../local/stepfunctions/item-reader.ts';
import {
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
} from '../../../../local/stepfunctions/local-step-functions.ts';
import type { StateMachineSpec } from '../../../../local/stepfunctions/template-state-machines.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
type Handler = (event: any) => Promise<unknown>;

/** Rows of a fake CSV per `bucket/key`: `{ id: "<n>" }` for n from 0. */
function csv(rows: number, tag = 'r'): Array<Record<string, string>> {
  return Array.from({ length: rows }, (_, i) => ({ id: `${tag}${i}` }));
}

function engine(
  functions: Record<string, Handler>,
  files: Record<string, unknown[]>,
  options: Partial<LocalStepFunctionsOptions> = {},
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlops-dmap-'));
  dirs.push(dataDir);
  const lines: string[] = [];
  const reads: ItemSource[] = [];
  const readItems: ReadItems = async (source) => {
    reads.push(source);
    const items = files[`${source.bucket}/${source.key}`];
    if (!items) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return structuredClone(items);
  };
  const sfn = new LocalStepFunctions({
    invokeLambda: async (ref, event) => {
      const handler = functions[parseFunctionRef(ref).name];
      if (!handler) throw new Error(`no function ${ref}`);
      return handler(event);
    },
    log: (line) => lines.push(line),
    dataDir,
    retryDelayMs: 5,
    readItems,
    ...options,
  });
  return { sfn, lines, reads };
}

function machine(name: string, definition: object): StateMachineSpec {
  return {
    logicalId: `${name}Machine`,
    name,
    arn: stateMachineArn(name),
    type: 'STANDARD',
    definition: JSON.stringify(definition),
  };
}

/** The batch-scoring Map shape: CSV rows, index + row, batches carrying the plan. */
function scoreMap(overrides: Record<string, unknown> = {}, processorState = 'ScoreBatch') {
  return {
    Type: 'Map',
    ItemReader: {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      Parameters: { 'Bucket.$': '$.plan.bucket', 'Key.$': '$.plan.readKey' },
    },
    ItemSelector: { 'index.$': '$$.Map.Item.Index', 'row.$': '$$.Map.Item.Value', 'model.$': '$.plan.model' },
    ItemBatcher: { MaxItemsPerBatchPath: '$.plan.batchSize', BatchInput: { 'plan.$': '$.plan' } },
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
      StartAt: processorState,
      States: { [processorState]: { Type: 'Task', Resource: fnArn('scoreBatch'), End: true } },
    },
    MaxConcurrency: 4,
    ToleratedFailurePercentage: 5,
    ResultPath: '$.parts',
    End: true,
    ...overrides,
  };
}

const plan = (readKey: string, batchSize = 2) => ({
  plan: { bucket: 'data', readKey, model: 'flights', batchSize },
});

async function run(sfn: LocalStepFunctions, name: string, input: unknown) {
  const { executionArn } = sfn.startExecution({
    stateMachineArn: stateMachineArn(name),
    input: JSON.stringify(input),
  });
  return { executionArn, done: await sfn.waitForExecution(executionArn, 10_000) };
}

describe('Distributed Map with an ItemReader', () => {
  it('gives each batch its rows in file order with the row index and the BatchInput', async () => {
    const batches: any[] = [];
    const { sfn, reads, lines } = engine(
      {
        scoreBatch: async (event) => {
          batches.push(event);
          return { first: event.Items[0].index, count: event.Items.length };
        },
      },
      { 'data/incoming/flights/a.csv': csv(5) },
    );
    sfn.addStateMachine(machine('Batch', { StartAt: 'Score', States: { Score: scoreMap() } }));

    const { done, executionArn } = await run(sfn, 'Batch', plan('incoming/flights/a.csv'));

    expect(done.status).toBe('SUCCEEDED');
    expect(reads).toEqual([{ bucket: 'data', key: 'incoming/flights/a.csv', inputType: 'CSV' }]);
    const sorted = [...batches].sort((a, b) => a.Items[0].index - b.Items[0].index);
    const batchInput = { plan: plan('incoming/flights/a.csv').plan };
    expect(sorted).toEqual([
      {
        Items: [
          { index: 0, row: { id: 'r0' }, model: 'flights' },
          { index: 1, row: { id: 'r1' }, model: 'flights' },
        ],
        BatchInput: batchInput,
      },
      {
        Items: [
          { index: 2, row: { id: 'r2' }, model: 'flights' },
          { index: 3, row: { id: 'r3' }, model: 'flights' },
        ],
        BatchInput: batchInput,
      },
      { Items: [{ index: 4, row: { id: 'r4' }, model: 'flights' }], BatchInput: batchInput },
    ]);
    // The Map's results are in batch order, and its output is the input plus ResultPath only.
    expect(JSON.parse(done.output ?? '')).toEqual({
      ...plan('incoming/flights/a.csv'),
      parts: [
        { first: 0, count: 2 },
        { first: 2, count: 2 },
        { first: 4, count: 1 },
      ],
    });
    const history = sfn.getExecutionHistory(executionArn);
    const entered = history.filter((e) => e.type.endsWith('StateEntered'));
    expect(entered.map((e) => (e.stateEnteredEventDetails as { name: string }).name)).toEqual([
      'Score (ItemReader)',
      'Score',
      'ScoreBatch',
      'ScoreBatch',
      'ScoreBatch',
    ]);
    expect(history.find((e) => e.type === 'TaskScheduled')).toMatchObject({
      taskScheduledEventDetails: { resourceType: 's3', resource: 'getObject' },
    });
    expect(lines).toContain(
      '[sfn] Batch/' +
        done.name +
        ' Score (ItemReader): 5 items from s3://data/incoming/flights/a.csv → 3 batches for Score',
    );
  });

  it('leaves the definition it describes as deployed', () => {
    const { sfn } = engine({}, {});
    const definition = { StartAt: 'Score', States: { Score: scoreMap() } };
    sfn.addStateMachine(machine('Described', definition));
    expect(JSON.parse(sfn.describeStateMachine(stateMachineArn('Described')).definition)).toEqual(definition);
  });

  it('reads the items when the Map is reached after a Choice or as a Catch target', async () => {
    const seen: unknown[] = [];
    const { sfn } = engine(
      {
        plan: async (event) => {
          if (event.fail) throw Object.assign(new Error('planning failed'), { name: 'PlanFailed' });
          return {};
        },
        scoreBatch: async (event) => {
          seen.push(event.Items.map((i: { index: number }) => i.index));
          return 'ok';
        },
      },
      { 'data/in/a.csv': csv(3), 'data/in/b.csv': csv(1) },
    );
    sfn.addStateMachine(
      machine('Routed', {
        StartAt: 'Plan',
        States: {
          Plan: {
            Type: 'Task',
            Resource: fnArn('plan'),
            ResultPath: null,
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Score' }],
            Next: 'Route',
          },
          Route: {
            Type: 'Choice',
            Choices: [{ Variable: '$.route', StringEquals: 'map', Next: 'Score' }],
            Default: 'Skip',
          },
          Skip: { Type: 'Succeed' },
          Score: scoreMap({ ResultPath: null }),
        },
      }),
    );

    const viaChoice = await run(sfn, 'Routed', { route: 'map', ...plan('in/a.csv', 10) });
    const viaCatch = await run(sfn, 'Routed', { fail: true, ...plan('in/b.csv', 10) });
    const skipped = await run(sfn, 'Routed', { route: 'none', ...plan('in/a.csv', 10) });

    expect([viaChoice.done.status, viaCatch.done.status, skipped.done.status]).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    expect(seen).toEqual([[0, 1, 2], [0]]);
  });

  it('keeps concurrent executions apart', async () => {
    const release: Array<() => void> = [];
    const { sfn } = engine(
      {
        scoreBatch: async (event) => {
          // Both executions have read their file before either batch finishes.
          await new Promise<void>((ok) => release.push(ok));
          return event.Items.map((i: { row: { id: string } }) => i.row.id);
        },
      },
      { 'data/a.csv': csv(3, 'a'), 'data/b.csv': csv(2, 'b') },
    );
    sfn.addStateMachine(machine('Parallel', { StartAt: 'Score', States: { Score: scoreMap() } }));
    const a = sfn.startExecution({
      stateMachineArn: stateMachineArn('Parallel'),
      input: JSON.stringify(plan('a.csv')),
    });
    const b = sfn.startExecution({
      stateMachineArn: stateMachineArn('Parallel'),
      input: JSON.stringify(plan('b.csv')),
    });
    await expect.poll(() => release.length).toBe(3);
    for (const ok of release) ok();

    const [doneA, doneB] = await Promise.all([
      sfn.waitForExecution(a.executionArn, 5000),
      sfn.waitForExecution(b.executionArn, 5000),
    ]);

    expect(JSON.parse(doneA.output ?? '').parts).toEqual([['a0', 'a1'], ['a2']]);
    expect(JSON.parse(doneB.output ?? '').parts).toEqual([['b0', 'b1']]);
  });

  it('fails the Map with States.ItemReaderFailed, which its Catch handles, when the object cannot be read', async () => {
    const { sfn } = engine({ scoreBatch: async () => 'never' }, {});
    sfn.addStateMachine(
      machine('Missing', {
        StartAt: 'Score',
        States: {
          Score: scoreMap({
            End: undefined,
            Next: 'Done',
            Catch: [{ ErrorEquals: ['States.ItemReaderFailed'], ResultPath: '$.error', Next: 'Failed' }],
          }),
          Done: { Type: 'Succeed' },
          Failed: { Type: 'Pass', End: true },
        },
      }),
    );

    const { done } = await run(sfn, 'Missing', plan('nope.csv'));

    expect(done.status).toBe('SUCCEEDED');
    const { error } = JSON.parse(done.output ?? '');
    expect(error.Error).toBe('States.ItemReaderFailed');
    expect(error.Cause).toContain('s3://data/nope.csv');
    expect(error.Cause).toContain('NoSuchKey');
  });

  it('fails the Map when a batch fails, whatever the tolerated failure percentage', async () => {
    const { sfn } = engine(
      {
        scoreBatch: async (event) => {
          if (event.Items[0].index === 2)
            throw new FunctionError({ errorType: 'BadBatch', errorMessage: 'bad rows' }, 'scoreBatch');
          return 'ok';
        },
      },
      { 'data/a.csv': csv(4) },
    );
    sfn.addStateMachine(machine('Tolerant', { StartAt: 'Score', States: { Score: scoreMap() } }));

    const { done } = await run(sfn, 'Tolerant', plan('a.csv'));

    expect(done).toMatchObject({ status: 'FAILED', error: 'BadBatch' });
  });

  it('warns once per state machine about what a local Distributed Map does differently', () => {
    const { sfn } = engine({}, {});
    const warnings = sfn.addStateMachine(
      machine('Warned', {
        StartAt: 'A',
        States: {
          A: scoreMap({ End: undefined, Next: 'B' }, 'ScoreA'),
          B: scoreMap(
            { ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b' } } },
            'ScoreB',
          ),
        },
      }),
    );

    expect(warnings).toEqual([
      "WarnedMachine (state machine Warned): Map states A, B: tolerated failure threshold not emulated: any failed batch fails the map (with that batch's error, not States.ExceedToleratedFailureThreshold)",
      "WarnedMachine (state machine Warned): Map state B: ResultWriter not emulated: the Map's output is its results, not a ResultWriterDetails pointer to S3",
    ]);
  });

  it('passes the items as read when there is no ItemSelector or ItemBatcher', async () => {
    const seen: unknown[] = [];
    const { sfn } = engine(
      { scoreBatch: async (event) => seen.push(event) },
      { 'data/a.jsonl': [{ x: 1 }, { x: 2 }] },
    );
    sfn.addStateMachine(
      machine('Plain', {
        StartAt: 'Score',
        States: {
          Score: scoreMap({
            ItemReader: {
              Resource: 'arn:aws:states:::s3:getObject',
              ReaderConfig: { InputType: 'JSONL' },
              Parameters: { Bucket: 'data', Key: 'a.jsonl' },
            },
            ItemSelector: undefined,
            ItemBatcher: undefined,
            MaxConcurrency: 1,
          }),
        },
      }),
    );

    const { done } = await run(sfn, 'Plain', {});

    expect(done.status).toBe('SUCCEEDED');
    expect(seen).toEqual([{ x: 1 }, { x: 2 }]);
  });
});

describe('localDistributedMaps', () => {
  it('re-points the transitions into a Map inside a Parallel branch', () => {
    const definition = {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Score',
              States: {
                Score: scoreMap({
                  End: undefined,
                  Next: 'Again',
                  Catch: [{ ErrorEquals: ['Retryable'], Next: 'Score' }],
                }),
                Again: {
                  Type: 'Choice',
                  Choices: [{ Variable: '$.again', BooleanEquals: true, Next: 'Score' }],
                  Default: 'End',
                },
                End: { Type: 'Succeed' },
              },
            },
          ],
          End: true,
        },
      },
    } as unknown as AslMachine;
    const before = structuredClone(definition);

    const local = localDistributedMaps(definition);

    expect(definition).toEqual(before);
    const branch = (local.machine.States.Fan?.Branches ?? [])[0] as any;
    expect(branch.StartAt).toBe('Score (ItemReader)');
    expect(branch.States.Again.Choices[0].Next).toBe('Score (ItemReader)');
    expect(branch.States['Score (ItemReader)']).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::s3:getObject',
      ResultPath: null,
      Next: 'Score',
      Catch: [{ ErrorEquals: ['Retryable'], Next: 'Score (ItemReader)' }],
    });
    expect(branch.States.Score.Catch).toEqual([{ ErrorEquals: ['Retryable'], Next: 'Score (ItemReader)' }]);
    expect(branch.States.Score.ItemsPath).toBe('$$.LocalItemReader.Score');
    for (const removed of ['ItemReader', 'ItemBatcher', 'ItemSelector', 'ToleratedFailurePercentage'])
      expect(branch.States.Score).not.toHaveProperty(removed);
    expect([...local.readers.keys()]).toEqual(['Score (ItemReader)']);
  });

  it('keeps an inserted state name within 80 characters and unique', () => {
    const long = 'M'.repeat(78);
    const local = localDistributedMaps({
      StartAt: long,
      States: { [long]: scoreMap(), [`${'M'.repeat(67)} (ItemReader)`]: { Type: 'Succeed' } },
    } as unknown as AslMachine);

    const [name = ''] = [...local.readers.keys()];
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/ \(ItemReader 2\)$/);
    expect(local.machine.StartAt).toBe(name);
  });

  it('reports a reader it cannot run by Map name', () => {
    const local = localDistributedMaps({
      StartAt: 'List',
      States: {
        List: scoreMap({
          ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'b' } },
          ToleratedFailurePercentage: undefined,
        }),
      },
    } as unknown as AslMachine);

    expect(local.warnings).toEqual([
      'Map state List: ItemReader arn:aws:states:::s3:listObjectsV2 is not emulated locally; the Map fails with States.Runtime when reached',
    ]);
  });
});
