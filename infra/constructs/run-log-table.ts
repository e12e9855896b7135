// The training run log table (one item per run and per step; see functions/lib/runs/), read
// by `mlops runs show`. Upserts only: grants list exact actions, never `dynamodb:*`.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** Environment variable through which functions find the run log table. */
export const RUNS_TABLE_ENV = 'RUNS_TABLE';

export const RUN_LOG_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'] as const;

export interface RunLogTableProps {
  /** @default RemovalPolicy.RETAIN: run history is part of every model's lineage */
  readonly removalPolicy?: RemovalPolicy;
}

export class RunLogTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: RunLogTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'runId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'item', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Record steps and read runs back (upserts and reads). */
  grantWrite(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...RUN_LOG_ACTIONS],
      resourceArns: [this.table.tableArn],
    });
  }

  /** Set `RUNS_TABLE` and grant run log writes. */
  bindTo(fn: lambda.Function): void {
    fn.addEnvironment(RUNS_TABLE_ENV, this.table.tableName);
    this.grantWrite(fn);
  }
}
