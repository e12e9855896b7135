// Maps a template's AWS::DynamoDB::Table / ::GlobalTable (TableV2) properties to a CreateTable
// request for dynalite, and names each declared feature dynalite does not emulate.
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { emulationWarning } from './emulation-warning.ts';

/** A DynamoDB table of the template, with its local name and intrinsic-free properties. */
export interface TemplateTable {
  readonly logicalId: string;
  readonly tableName: string;
  /** The resource's `Properties`, already resolved. */
  readonly properties: Readonly<Record<string, unknown>>;
  /** @default inferred: `AWS::DynamoDB::GlobalTable` when `properties` has `Replicas` */
  readonly type?: 'AWS::DynamoDB::Table' | 'AWS::DynamoDB::GlobalTable';
}

const keySchema = z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) })).min(1);
const projection = z.object({
  ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']).optional(),
  NonKeyAttributes: z.array(z.string()).optional(),
});
const throughput = z.object({ ReadCapacityUnits: z.coerce.number(), WriteCapacityUnits: z.coerce.number() });
const capacity = z
  .object({
    ReadCapacityUnits: z.coerce.number().optional(),
    ReadCapacityAutoScalingSettings: z.object({ MinCapacity: z.coerce.number() }).optional(),
    WriteCapacityAutoScalingSettings: z.object({ MinCapacity: z.coerce.number() }).optional(),
  })
  .optional();
const enabled = (flag: string) =>
  z.looseObject({ [flag]: z.union([z.boolean(), z.enum(['true', 'false'])]).optional() });

const common = {
  KeySchema: keySchema,
  AttributeDefinitions: z.array(
    z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }),
  ),
  BillingMode: z.enum(['PROVISIONED', 'PAY_PER_REQUEST']).default('PROVISIONED'),
  LocalSecondaryIndexes: z
    .array(z.object({ IndexName: z.string(), KeySchema: keySchema, Projection: projection }))
    .optional(),
  TimeToLiveSpecification: z
    .looseObject({ AttributeName: z.string().optional(), Enabled: z.unknown() })
    .optional(),
  StreamSpecification: z.looseObject({ StreamViewType: z.string().optional() }).optional(),
  SSESpecification: enabled('SSEEnabled').optional(),
  KinesisStreamSpecification: z.unknown().optional(),
  ImportSourceSpecification: z.unknown().optional(),
};

const tableProps = z.looseObject({
  ...common,
  ProvisionedThroughput: throughput.optional(),
  GlobalSecondaryIndexes: z
    .array(
      z.object({
        IndexName: z.string(),
        KeySchema: keySchema,
        Projection: projection,
        ProvisionedThroughput: throughput.optional(),
      }),
    )
    .optional(),
  PointInTimeRecoverySpecification: enabled('PointInTimeRecoveryEnabled').optional(),
});

const replica = z.looseObject({
  Region: z.unknown(),
  ReadProvisionedThroughputSettings: capacity,
  GlobalSecondaryIndexes: z
    .array(z.object({ IndexName: z.string(), ReadProvisionedThroughputSettings: capacity }))
    .optional(),
  PointInTimeRecoverySpecification: enabled('PointInTimeRecoveryEnabled').optional(),
  KinesisStreamSpecification: z.unknown().optional(),
});

const globalTableProps = z.looseObject({
  ...common,
  WriteProvisionedThroughputSettings: capacity,
  GlobalSecondaryIndexes: z
    .array(
      z.object({
        IndexName: z.string(),
        KeySchema: keySchema,
        Projection: projection,
        WriteProvisionedThroughputSettings: capacity,
      }),
    )
    .optional(),
  Replicas: z.array(replica).min(1),
});

/** The CreateTable request for `table`, and the warnings for what dynalite will not do. */
export function createTableInput(table: TemplateTable): {
  input: CreateTableCommandInput;
  warnings: string[];
} {
  const isGlobal =
    (table.type ?? (table.properties.Replicas ? 'AWS::DynamoDB::GlobalTable' : '')) ===
    'AWS::DynamoDB::GlobalTable';
  return isGlobal ? globalTableInput(table) : tableInput(table);
}

function tableInput(table: TemplateTable) {
  const props = parse(tableProps, table);
  const provisioned = props.BillingMode === 'PROVISIONED';
  const input: CreateTableCommandInput = {
    ...baseInput(table.tableName, props),
    ...(provisioned ? { ProvisionedThroughput: props.ProvisionedThroughput } : {}),
    GlobalSecondaryIndexes: props.GlobalSecondaryIndexes?.map((gsi) => ({
      IndexName: gsi.IndexName,
      KeySchema: gsi.KeySchema,
      Projection: gsi.Projection,
      ...(provisioned ? { ProvisionedThroughput: gsi.ProvisionedThroughput } : {}),
    })),
  };
  const warnings = commonWarnings(table.logicalId, props);
  if (isOn(props.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled))
    warnings.push(pitrWarning(table.logicalId));
  return { input, warnings };
}

function globalTableInput(table: TemplateTable) {
  const props = parse(globalTableProps, table);
  const provisioned = props.BillingMode === 'PROVISIONED';
  // Local keeps one copy: the first replica's read capacity stands for all of them.
  const [first] = props.Replicas;
  const writeUnits = units(props.WriteProvisionedThroughputSettings);
  const input: CreateTableCommandInput = {
    ...baseInput(table.tableName, props),
    ...(provisioned
      ? {
          ProvisionedThroughput: {
            ReadCapacityUnits: units(first?.ReadProvisionedThroughputSettings),
            WriteCapacityUnits: writeUnits,
          },
        }
      : {}),
    GlobalSecondaryIndexes: props.GlobalSecondaryIndexes?.map((gsi) => ({
      IndexName: gsi.IndexName,
      KeySchema: gsi.KeySchema,
      Projection: gsi.Projection,
      ...(provisioned
        ? {
            ProvisionedThroughput: {
              ReadCapacityUnits: units(
                first?.GlobalSecondaryIndexes?.find((g) => g.IndexName === gsi.IndexName)
                  ?.ReadProvisionedThroughputSettings,
              ),
              WriteCapacityUnits: units(gsi.WriteProvisionedThroughputSettings),
            },
          }
        : {}),
    })),
  };
  const warnings = commonWarnings(table.logicalId, props);
  if (props.Replicas.some((r) => isOn(r.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled))) {
    warnings.push(pitrWarning(table.logicalId));
  }
  if (props.Replicas.some((r) => r.KinesisStreamSpecification)) {
    warnings.push(
      emulationWarning(table.logicalId, 'KinesisStreamSpecification', 'no change records reach Kinesis'),
    );
  }
  if (props.Replicas.length > 1) {
    const regions = props.Replicas.map((r) =>
      typeof r.Region === 'string' ? r.Region : JSON.stringify(r.Region),
    ).join(', ');
    warnings.push(
      emulationWarning(table.logicalId, 'Replicas', `local keeps one copy, not replicas in ${regions}`),
    );
  }
  return { input, warnings };
}

function baseInput(tableName: string, props: z.infer<typeof tableProps> | z.infer<typeof globalTableProps>) {
  return {
    TableName: tableName,
    KeySchema: props.KeySchema,
    AttributeDefinitions: props.AttributeDefinitions,
    BillingMode: props.BillingMode,
    LocalSecondaryIndexes: props.LocalSecondaryIndexes,
  };
}

function commonWarnings(
  logicalId: string,
  props: z.infer<typeof tableProps> | z.infer<typeof globalTableProps>,
) {
  const warnings: string[] = [];
  const ttl = props.TimeToLiveSpecification;
  if (ttl && isOn(ttl.Enabled)) {
    warnings.push(
      emulationWarning(
        logicalId,
        'TimeToLiveSpecification',
        `items never expire on "${ttl.AttributeName}": check expiry in code`,
      ),
    );
  }
  if (props.StreamSpecification) {
    const view = props.StreamSpecification.StreamViewType ?? 'stream';
    warnings.push(
      emulationWarning(logicalId, 'StreamSpecification', `no ${view} records: stream consumers never run`),
    );
  }
  if (props.KinesisStreamSpecification) {
    warnings.push(
      emulationWarning(logicalId, 'KinesisStreamSpecification', 'no change records reach Kinesis'),
    );
  }
  if (isOn(props.SSESpecification?.SSEEnabled)) {
    warnings.push(emulationWarning(logicalId, 'SSESpecification', 'local data is stored unencrypted'));
  }
  if (props.ImportSourceSpecification) {
    warnings.push(emulationWarning(logicalId, 'ImportSourceSpecification', 'the table starts empty'));
  }
  return warnings;
}

const pitrWarning = (logicalId: string) =>
  emulationWarning(logicalId, 'PointInTimeRecoverySpecification', 'local data has no backups to restore');

/** Capacity units of a TableV2 setting: fixed reads, or the autoscaling minimum; 1 when unset. */
function units(setting: z.infer<typeof capacity>): number {
  return (
    setting?.ReadCapacityUnits ??
    setting?.ReadCapacityAutoScalingSettings?.MinCapacity ??
    setting?.WriteCapacityAutoScalingSettings?.MinCapacity ??
    1
  );
}

function isOn(flag: unknown): boolean {
  return flag === true || flag === 'true';
}

function parse<T extends z.ZodType>(schema: T, table: TemplateTable): z.infer<T> {
  const parsed = schema.safeParse(table.properties);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new Error(`${table.logicalId}: cannot create table ${table.tableName} locally: ${problems}`);
}
