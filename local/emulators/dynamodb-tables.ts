// Creates the template's DynamoDB tables in dynalite, once: a table that exists keeps its data.
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, type TemplateTable } from './dynamodb-table-input.ts';

export type { TemplateTable } from './dynamodb-table-input.ts';

const ACTIVE_TIMEOUT_MS = 10_000;

/**
 * Create each table that does not exist yet, with its key schema, attribute definitions,
 * indexes and billing mode, and wait until it is ACTIVE. Idempotent across restarts: an existing
 * table is left alone with its data (a changed key schema or index set is reported, not migrated).
 * Returns one warning per declared feature dynalite does not emulate (TTL, streams, PITR, SSE…),
 * each naming the logical id.
 */
export async function ensureTablesFromTemplate(
  client: DynamoDBClient,
  tables: readonly TemplateTable[],
): Promise<string[]> {
  const warnings: string[] = [];
  for (const table of tables) {
    const { input, warnings: unsupported } = createTableInput(table);
    warnings.push(...unsupported);
    const current = await describe(client, table.tableName);
    if (current) {
      const drift = schemaDrift(current, input.KeySchema ?? [], input.GlobalSecondaryIndexes ?? []);
      if (drift) warnings.push(staleTableWarning(table, drift));
      continue;
    }
    try {
      await client.send(new CreateTableCommand(input));
    } catch (err) {
      // Created meanwhile (a concurrent call): it exists now, which is what we want.
      if ((err as Error).name !== 'ResourceInUseException') throw withTable(err, table);
    }
    await waitUntilActive(client, table.tableName);
  }
  return warnings;
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (;;) {
    const table = await describe(client, tableName);
    const indexes = table?.GlobalSecondaryIndexes ?? [];
    if (table?.TableStatus === 'ACTIVE' && indexes.every((i) => i.IndexStatus === 'ACTIVE')) return;
    if (Date.now() > deadline)
      throw new Error(`table ${tableName} is not ACTIVE after ${ACTIVE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface KeyElement {
  readonly AttributeName?: string;
  readonly KeyType?: string;
}

/** How the stored table differs from the template in what dynalite cannot change in place. */
function schemaDrift(
  table: TableDescription,
  keySchema: readonly KeyElement[],
  indexes: readonly { readonly IndexName?: string }[],
): string | undefined {
  const keys = (schema: readonly KeyElement[] | undefined) =>
    (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  if (keys(table.KeySchema) !== keys(keySchema)) {
    return `key schema is ${keys(table.KeySchema)}, template says ${keys(keySchema)}`;
  }
  const names = (list: readonly { readonly IndexName?: string }[] | undefined) =>
    (list ?? [])
      .map((i) => i.IndexName)
      .sort()
      .join(',');
  if (names(table.GlobalSecondaryIndexes) !== names(indexes)) {
    return `global secondary indexes are [${names(table.GlobalSecondaryIndexes)}], template says [${names(indexes)}]`;
  }
  return undefined;
}

function staleTableWarning(table: TemplateTable, drift: string): string {
  return `${table.logicalId}: local table ${table.tableName} was made from an older template (${drift}); delete the local data to recreate it`;
}

function withTable(err: unknown, table: TemplateTable): Error {
  const message = `${table.logicalId}: creating table ${table.tableName} failed: ${(err as Error).message}`;
  return new Error(message, { cause: err });
}
