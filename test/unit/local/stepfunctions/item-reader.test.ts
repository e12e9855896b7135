// The run-time half of a local Distributed Map: batching, and each execution's item slot,
// dropped when the execution ends.
import './../../../../local/stepfunctions/promise-with-resolvers.ts';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import { localDistributedMaps } from '../../../../local/stepfunctions/distributed-map.ts';
import { type RunnableMachine, startRun } from '../../../../local/stepfunctions/execution-runner.ts';
import { batchItems, ItemReaderStore, itemReaderTask } from '../../../../local/stepfunctions/item-reader.ts';
import type { TaskBinding } from '../../../../local/stepfunctions/task-handlers.ts';

describe('batchItems', () => {
  it('closes a batch at MaxItemsPerBatch', () => {
    expect(batchItems([1, 2, 3, 4, 5], { maxItems: 2 })).toEqual([
      { Items: [1, 2] },
      { Items: [3, 4] },
      { Items: [5] },
    ]);
  });

  it('closes a batch before its JSON would pass MaxInputBytesPerBatch, counting the BatchInput', () => {
    // {"Items":[],"BatchInput":{"a":1}} is 33 bytes; "xxxx" is 6, plus a comma after the first.
    const items = ['xxxx', 'xxxx', 'xxxx'];

    expect(batchItems(items, { maxBytes: 46, batchInput: { a: 1 } })).toEqual([
      { Items: ['xxxx', 'xxxx'], BatchInput: { a: 1 } },
      { Items: ['xxxx'], BatchInput: { a: 1 } },
    ]);
    expect(batchItems(items, { maxBytes: 45, batchInput: { a: 1 } })).toHaveLength(3);
    expect(JSON.stringify({ Items: ['xxxx', 'xxxx'], BatchInput: { a: 1 } })).toHaveLength(46);
  });

  it('sends an item bigger than the byte limit alone', () => {
    expect(batchItems(['a', 'much longer item', 'b'], { maxBytes: 16 })).toEqual([
      { Items: ['a'] },
      { Items: ['much longer item'] },
      { Items: ['b'] },
    ]);
  });
});

describe('ItemReaderStore', () => {
  it('drops an execution slot when the execution ends, whatever its outcome', async () => {
    const local = localDistributedMaps({
      StartAt: 'Score',
      States: {
        Score: {
          Type: 'Map',
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: { InputType: 'JSONL' },
            Parameters: { Bucket: 'b', 'Key.$': '$.key' },
          },
          ItemProcessor: { StartAt: 'Check', States: { Check: { Type: 'Pass', End: true } } },
          End: true,
        },
      },
    } as never);
    const store = new ItemReaderStore();
    const plan = [...local.readers.values()][0];
    if (!plan) throw new Error('expected a reader plan');
    const slots: number[] = [];
    let arrived = 0;
    let bothReading!: () => void;
    const barrier = new Promise<void>((ok) => {
      bothReading = ok;
    });
    const readItems = async ({ key }: { key: string }) => {
      if (++arrived === 2) bothReading();
      await barrier;
      slots.push(store.size);
      if (key === 'bad') throw new Error('unreadable');
      return [{ n: 1 }];
    };
    const tasks = new Map<string, TaskBinding>([
      [
        plan.stateName,
        { kind: 'integration', resource: plan.resource, run: itemReaderTask(plan, { store, readItems }) },
      ],
    ]);
    const machine: RunnableMachine = {
      spec: { logicalId: 'M', name: 'M', arn: stateMachineArn('M'), type: 'STANDARD', definition: '{}' },
      runner: new StateMachine(local.machine as never),
      tasks,
      retrying: [],
      itemReaders: store,
    };
    const runOnce = (name: string, key: string) =>
      startRun(
        machine,
        {
          executionArn: `arn:aws:states:us-east-1:000000000000:execution:M:${name}`,
          name,
          startDate: new Date(),
          input: '{}',
        },
        { key },
        [],
        { invokeLambda: async () => undefined, log: () => undefined },
      ).outcome;

    const [good, bad] = await Promise.all([runOnce('good', 'ok'), runOnce('bad', 'bad')]);

    expect(good).toEqual({ status: 'SUCCEEDED', output: JSON.stringify([{ n: 1 }]) });
    expect(bad).toMatchObject({ status: 'FAILED', failure: { error: 'States.ItemReaderFailed' } });
    expect(slots).toEqual([2, 2]);
    expect(store.size).toBe(0);
  });
});
