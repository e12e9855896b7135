import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureTablesFromTemplate,
  type LocalDynamoDb,
  localDynamoDbClient,
  startDynamoDb,
  type TemplateTable,
} from '../../../../local/emulators/dynamodb.ts';
import { findStack, loadCloudAssembly } from '../../../../local/template/cloud-assembly.ts';
import { resolveValue } from '../../../../local/template/intrinsics.ts';
import { defined } from '../defined.ts';

/** The fixture stack's tables (a TableV2 with a GSI and a Table), as the runtime passes them. */
function templateTables(): TemplateTable[] {
  const fixture = fileURLToPath(new URL('../../../fixtures/templates/mlops-stack', import.meta.url));
  const stack = findStack(loadCloudAssembly(fixture), 'MlopsStack');
  const ctx = {
    stackName: stack.stackName,
    template: stack.template,
    ref: () => undefined,
    getAtt: () => undefined,
  };
  return Object.entries(stack.template.Resources)
    .filter(([, r]) => r.Type.startsWith('AWS::DynamoDB::'))
    .map(([logicalId, r]) => ({
      logicalId,
      tableName: `MlopsStack-${logicalId}`,
      type: r.Type as TemplateTable['type'],
      properties: resolveValue(r.Properties, ctx) as Record<string, unknown>,
    }));
}

const withIndex = (tables: TemplateTable[]) => {
  const table = tables.find((t) => Array.isArray(t.properties.GlobalSecondaryIndexes));
  if (!table) throw new Error('fixture has no table with a GSI');
  return table;
};

describe('startDynamoDb in memory', () => {
  let db: LocalDynamoDb;
  let client: DynamoDBClient;
  const tables = templateTables();

  beforeAll(async () => {
    db = await startDynamoDb({ port: 0 });
    client = localDynamoDbClient(db.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await db.stop();
  });

  it('listens on 127.0.0.1 on a free port', () => {
    expect(db.endpoint).toBe(`http://127.0.0.1:${db.port}`);
    expect(db.port).toBeGreaterThan(0);
  });

  it('creates the template tables with their indexes, reporting what dynalite lacks', async () => {
    const warnings = await ensureTablesFromTemplate(client, tables);
    const table = withIndex(tables);
    type Index = { IndexName: string; KeySchema: { AttributeName: string }[] };
    const index = defined(
      (table.properties.GlobalSecondaryIndexes as Index[])[0],
      'a global secondary index',
    );
    const indexKey = defined(index.KeySchema[0], 'an index key').AttributeName;
    await client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: { pk: { S: 'm#1' }, sk: { S: 'v#1' }, [indexKey]: { S: 'Production' } },
      }),
    );

    const found = await client.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: index.IndexName,
        KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': indexKey },
        ExpressionAttributeValues: { ':v': { S: 'Production' } },
      }),
    );

    expect(found.Items?.map((i) => i.pk?.S)).toEqual(['m#1']);
    expect(warnings.some((w) => w.startsWith(`${table.logicalId}: TimeToLiveSpecification`))).toBe(true);
    expect(warnings.some((w) => /StreamSpecification/.test(w))).toBe(true);
    expect(warnings.some((w) => /PointInTimeRecoverySpecification/.test(w))).toBe(true);
  });

  it('leaves an existing table and its items alone on a second call', async () => {
    const table = withIndex(tables);
    const key = { pk: { S: 'keep' }, sk: { S: 'me' } };
    await client.send(new PutItemCommand({ TableName: table.tableName, Item: key }));

    await ensureTablesFromTemplate(client, tables);

    expect((await client.send(new GetItemCommand({ TableName: table.tableName, Key: key }))).Item).toEqual(
      key,
    );
  });

  it('reports a table whose key schema changed since it was created', async () => {
    const table = withIndex(tables);
    const changed = {
      ...table,
      properties: { ...table.properties, KeySchema: [{ AttributeName: 'sk', KeyType: 'HASH' }] },
    };

    const warnings = await ensureTablesFromTemplate(client, [changed]);

    expect(
      warnings.some((w) =>
        w.startsWith(`${table.logicalId}: local table ${table.tableName} was made from an older template`),
      ),
    ).toBe(true);
  });
});

describe('startDynamoDb with a data folder', () => {
  const dirs: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-dynamodb-'));
    dirs.push(dir);
    return join(dir, 'dynamodb');
  };

  it('keeps tables and items across a stop and start', async () => {
    const dataDir = tempDir();
    const table = withIndex(templateTables());
    const key = { pk: { S: 'm#1' }, sk: { S: 'v#1' } };
    const first = await startDynamoDb({ dataDir });
    const firstClient = localDynamoDbClient(first.endpoint);
    await ensureTablesFromTemplate(firstClient, [table]);
    await firstClient.send(
      new PutItemCommand({ TableName: table.tableName, Item: { ...key, stage: { S: 'None' } } }),
    );
    firstClient.destroy();
    await first.stop();

    const second = await startDynamoDb({ dataDir });
    stops.push(second.stop);
    const client = localDynamoDbClient(second.endpoint);
    await ensureTablesFromTemplate(client, [table]);
    const item = (await client.send(new GetItemCommand({ TableName: table.tableName, Key: key }))).Item;
    client.destroy();

    expect(item?.stage).toEqual({ S: 'None' });
  });

  it('fails clearly when another process holds the data folder', async () => {
    const dataDir = tempDir();
    const first = await startDynamoDb({ dataDir });
    stops.push(first.stop);

    await expect(startDynamoDb({ dataDir })).rejects.toThrow(/is in use by another process/);
  });
});
