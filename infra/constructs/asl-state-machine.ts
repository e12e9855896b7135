// One home for how the platform deploys a state machine from an ASL file in statemachines/:
// Standard type, the file inlined with DefinitionSubstitutions (so the template carries the ASL
// the local runtime runs), execution logging and X-Ray, and invoke rights on exactly the
// functions its Lambda-ARN tasks name (grantInvoke would add every version with `:*`).
import { readFileSync } from 'node:fs';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface AslStateMachineProps {
  /** Path of the `*.asl.json` file (JSONPath ASL with `${Placeholders}`). */
  readonly aslFile: string;
  /** What fills the placeholders; every one must be given. */
  readonly substitutions: Readonly<Record<string, string>>;
  /** Functions its tasks invoke by ARN. */
  readonly invokes: readonly lambda.IFunction[];
  readonly comment: string;
  readonly timeout: Duration;
  /** A fixed name, when the machine's own role must name it (e.g. a Distributed Map). @default - generated */
  readonly stateMachineName?: string;
  /** Log state inputs and outputs (off where they carry data rows). @default true */
  readonly includeExecutionData?: boolean;
}

export class AslStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: AslStateMachineProps) {
    super(scope, id);
    const asl = readFileSync(props.aslFile, 'utf8');
    const missing = [...new Set([...asl.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1] ?? ''))].filter(
      (name) => !(name in props.substitutions),
    );
    if (missing.length > 0) throw new Error(`${props.aslFile}: no substitution for ${missing.join(', ')}`);
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: props.comment,
      definitionBody: sfn.DefinitionBody.fromString(asl),
      definitionSubstitutions: { ...props.substitutions },
      logs: {
        destination: logGroup,
        level: sfn.LogLevel.ALL,
        includeExecutionData: props.includeExecutionData ?? true,
      },
      tracingEnabled: true,
      timeout: props.timeout,
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: props.invokes.map((f) => f.functionArn),
      }),
    );
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Granted by CDK for X-Ray tracing and CloudWatch Logs vended delivery of the execution log, whose APIs have no resource-level permissions.',
    });
  }
}
