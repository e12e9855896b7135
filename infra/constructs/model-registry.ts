// The model registry table (DESIGN.md "Registry"): versions, the Production pointer and the
// audit trail of every model, keyed (pk, sk). Access is granted per use, never as `dynamodb:*`.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface ModelRegistryProps {
  /** @default RemovalPolicy.RETAIN: the registry is the system of record for models */
  readonly removalPolicy?: RemovalPolicy;
}

/** Actions a reader of the registry needs (lookups and listings). */
export const REGISTRY_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'] as const;
/** Actions a writer additionally needs: conditional puts and updates only (no deletes). */
export const REGISTRY_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/** Environment variable through which functions find the registry table. */
export const REGISTRY_TABLE_ENV = 'REGISTRY_TABLE';

export class ModelRegistry extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ModelRegistryProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Lookups and listings. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...REGISTRY_READ_ACTIONS);
  }

  /** Registration and stage changes (conditional writes), plus reads. */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...REGISTRY_READ_ACTIONS, ...REGISTRY_WRITE_ACTIONS);
  }

  /** Set the function's `REGISTRY_TABLE` and grant it `access`. */
  bindTo(fn: lambda.Function, access: 'read' | 'readWrite'): void {
    fn.addEnvironment(REGISTRY_TABLE_ENV, this.table.tableName);
    if (access === 'read') this.grantRead(fn);
    else this.grantReadWrite(fn);
  }

  private grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }
}
