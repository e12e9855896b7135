// The alert state store against dynalite (the local runtime's DynamoDB): its compare-and-set is
// the point, so it is checked against a real implementation of conditional writes.
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAlertStateStore } from '../../../../../functions/lib/drift/alert-state-store.ts';
import {
  type LocalDynamoDb,
  localDynamoDbClient,
  startDynamoDb,
} from '../../../../../local/emulators/dynamodb.ts';

let db: LocalDynamoDb;
let client: DynamoDBDocumentClient;
let store: DynamoDbAlertStateStore;
let tableName: string;
let tables = 0;

const NOW = new Date('2026-11-27T07:05:00.000Z');
const pending = {
  state: 'pending' as const,
  consecutive: 1,
  lastWindow: '2026-11-27T07:00:00.000Z',
  reference: 'v3',
  decision: {
    status: 'significant' as const,
    raised: false,
    cleared: false,
    reason: 'drifted window 1 of 2 needed',
  },
};

beforeAll(async () => {
  db = await startDynamoDb({ port: 0 });
  client = DynamoDBDocumentClient.from(localDynamoDbClient(db.endpoint));
});

afterAll(async () => {
  client.destroy();
  await db.stop();
});

beforeEach(async () => {
  // The table the DriftMonitor construct declares: partition key `model`, nothing else.
  tableName = `drift-alerts-${++tables}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'model', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'model', AttributeType: 'S' }],
    }),
  );
  while (
    (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE'
  )
    await new Promise((resolve) => setTimeout(resolve, 5));
  store = new DynamoDbAlertStateStore(client, tableName, () => NOW);
});

describe('DynamoDbAlertStateStore', () => {
  it('has nothing for a model never judged, then what was put', async () => {
    expect(await store.get('m')).toBeUndefined();
    expect(await store.put('m', pending, undefined)).toEqual({ ...pending, revision: 1 });
    expect(await store.get('m')).toEqual({ ...pending, revision: 1 });
  });

  it('writes only over the revision it read: of two writers, the second loses', async () => {
    await store.put('m', pending, undefined);
    const alarm = {
      ...pending,
      state: 'alarm' as const,
      consecutive: 2,
      lastWindow: '2026-11-27T08:00:00.000Z',
    };

    expect(await store.put('m', alarm, 1)).toEqual({ ...alarm, revision: 2 });
    expect(await store.put('m', { ...pending, consecutive: 5 }, 1)).toBeUndefined();
    expect(await store.put('m', pending, undefined)).toBeUndefined();
    expect(await store.get('m')).toEqual({ ...alarm, revision: 2 });
  });

  it('keeps models apart', async () => {
    await store.put('a', pending, undefined);
    expect(await store.put('b', { ...pending, reference: 'v9' }, undefined)).toMatchObject({ revision: 1 });
    expect((await store.get('a'))?.reference).toBe('v3');
  });

  it('fails naming the model when a stored item is not an alert state', async () => {
    await client.send(
      new PutCommand({ TableName: tableName, Item: { model: 'm', state: 'on fire', revision: 1 } }),
    );
    await expect(store.get('m')).rejects.toThrow(
      /^drift alert state of m in drift-alerts-\d+ is not valid: state: /,
    );
  });
});
