// Test support: dynalite (the local runtime's DynamoDB) for a test file, with a fresh table per
// test, so adapters built on conditional writes are checked against a real implementation.
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type LocalDynamoDb, localDynamoDbClient, startDynamoDb } from '../../local/emulators/dynamodb.ts';

export interface TestDynamoDb {
  readonly db: LocalDynamoDb;
  readonly client: DynamoDBDocumentClient;
  /** Create a new table keyed (`hashKey`, `rangeKey`), both strings, and wait until it is ACTIVE. */
  createTable(keys: { hashKey: string; rangeKey: string }): Promise<string>;
  stop(): Promise<void>;
}

/** Table keys of the run log (infra/constructs/run-log-table.ts). */
export const RUN_LOG_KEYS = { hashKey: 'runId', rangeKey: 'item' } as const;
/** Table keys of the model registry (infra/constructs/model-registry.ts). */
export const REGISTRY_KEYS = { hashKey: 'pk', rangeKey: 'sk' } as const;

/** Start dynalite in memory on a free port. */
export async function startTestDynamoDb(): Promise<TestDynamoDb> {
  const db = await startDynamoDb({ port: 0 });
  const client = DynamoDBDocumentClient.from(localDynamoDbClient(db.endpoint));
  let tables = 0;
  return {
    db,
    client,
    async createTable({ hashKey, rangeKey }) {
      const tableName = `table-${++tables}`;
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: hashKey, KeyType: 'HASH' },
            { AttributeName: rangeKey, KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: hashKey, AttributeType: 'S' },
            { AttributeName: rangeKey, AttributeType: 'S' },
          ],
        }),
      );
      // dynalite answers ResourceNotFound until the table turns ACTIVE, a tick after CreateTable.
      while (
        (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !==
        'ACTIVE'
      )
        await new Promise((resolve) => setTimeout(resolve, 5));
      return tableName;
    },
    async stop() {
      client.destroy();
      await db.stop();
    },
  };
}
