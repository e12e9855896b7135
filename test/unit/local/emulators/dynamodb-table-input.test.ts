import { describe, expect, it } from 'vitest';
import { createTableInput } from '../../../../local/emulators/dynamodb-table-input.ts';

const keys = {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'stage', AttributeType: 'S' },
  ],
};
const gsi = {
  IndexName: 'byStage',
  KeySchema: [{ AttributeName: 'stage', KeyType: 'HASH' }],
  Projection: { ProjectionType: 'ALL' },
};

describe('createTableInput', () => {
  it('maps an on-demand Table with its indexes', () => {
    const { input, warnings } = createTableInput({
      logicalId: 'Registry',
      tableName: 'S-Registry',
      properties: { ...keys, BillingMode: 'PAY_PER_REQUEST', GlobalSecondaryIndexes: [gsi] },
    });

    expect(input).toMatchObject({
      TableName: 'S-Registry',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: keys.KeySchema,
    });
    expect(input.GlobalSecondaryIndexes).toEqual([gsi]);
    expect(input.ProvisionedThroughput).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('maps a provisioned Table (the CloudFormation default billing mode)', () => {
    const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: '2' };
    const { input } = createTableInput({
      logicalId: 'T',
      tableName: 'S-T',
      properties: {
        ...keys,
        ProvisionedThroughput: throughput,
        GlobalSecondaryIndexes: [{ ...gsi, ProvisionedThroughput: throughput }],
      },
    });

    expect(input.BillingMode).toBe('PROVISIONED');
    expect(input.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 5, WriteCapacityUnits: 2 });
    expect(input.GlobalSecondaryIndexes?.[0]?.ProvisionedThroughput).toEqual({
      ReadCapacityUnits: 5,
      WriteCapacityUnits: 2,
    });
  });

  it('maps a GlobalTable (TableV2) with unresolved replica regions', () => {
    const { input, warnings } = createTableInput({
      logicalId: 'RegistryV2',
      tableName: 'S-RegistryV2',
      properties: {
        ...keys,
        BillingMode: 'PROVISIONED',
        WriteProvisionedThroughputSettings: {
          WriteCapacityAutoScalingSettings: { MinCapacity: 3, MaxCapacity: 10 },
        },
        GlobalSecondaryIndexes: [
          {
            ...gsi,
            WriteProvisionedThroughputSettings: { WriteCapacityAutoScalingSettings: { MinCapacity: 4 } },
          },
        ],
        Replicas: [
          {
            Region: { Ref: 'AWS::Region' },
            ReadProvisionedThroughputSettings: { ReadCapacityUnits: 7 },
            GlobalSecondaryIndexes: [
              { IndexName: 'byStage', ReadProvisionedThroughputSettings: { ReadCapacityUnits: 6 } },
            ],
          },
        ],
      },
    });

    expect(input.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 7, WriteCapacityUnits: 3 });
    expect(input.GlobalSecondaryIndexes?.[0]).toEqual({
      ...gsi,
      ProvisionedThroughput: { ReadCapacityUnits: 6, WriteCapacityUnits: 4 },
    });
    expect(warnings).toEqual([]);
  });

  it('warns by logical id about TTL, streams, PITR and SSE, which dynalite lacks', () => {
    const { warnings } = createTableInput({
      logicalId: 'Features',
      tableName: 'S-Features',
      properties: {
        ...keys,
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });

    expect(warnings).toHaveLength(4);
    expect(warnings.every((w) => w.startsWith('Features: '))).toBe(true);
    expect(warnings.join('\n')).toMatch(/TimeToLiveSpecification.*"expiresAt"/);
    expect(warnings.join('\n')).toMatch(/StreamSpecification.*NEW_IMAGE/);
    expect(warnings.join('\n')).toMatch(/PointInTimeRecoverySpecification/);
    expect(warnings.join('\n')).toMatch(/SSESpecification/);
  });

  it('warns about replicas in several regions and per-replica PITR of a GlobalTable', () => {
    const { warnings } = createTableInput({
      logicalId: 'Global',
      tableName: 'S-Global',
      properties: {
        ...keys,
        BillingMode: 'PAY_PER_REQUEST',
        Replicas: [
          { Region: 'us-east-1', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } },
          { Region: 'eu-west-1' },
        ],
      },
    });

    expect(warnings).toEqual([
      expect.stringMatching(/^Global: PointInTimeRecoverySpecification/),
      expect.stringMatching(/^Global: Replicas .*us-east-1, eu-west-1/),
    ]);
  });

  it('fails naming the logical id when the key schema is missing', () => {
    expect(() =>
      createTableInput({
        logicalId: 'Broken',
        tableName: 'S-Broken',
        properties: { BillingMode: 'PAY_PER_REQUEST' },
      }),
    ).toThrow(/^Broken: cannot create table S-Broken locally: KeySchema/);
  });
});
