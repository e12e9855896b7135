// What each resource of a stack is called locally and what its Ref and attributes resolve to:
// the resolution context the runtime gives the intrinsic resolver (local/template/).
import { localResourceName } from './emulators/names.ts';
import { ruleArn } from './events/event-rules.ts';
import { localTopicName, topicArn } from './sns/local-topics.ts';
import { stateMachineArn } from './stepfunctions/arns.ts';
import { refOf } from './template/cfn-template.ts';
import type { AssemblyStack } from './template/cloud-assembly.ts';
import type { ResolveContext } from './template/intrinsics.ts';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from './template/pseudo-parameters.ts';

export interface StackResolution {
  /** Logical id → local physical name, for tables, buckets, functions, state machines, topics and rules. */
  readonly physical: ReadonlyMap<string, string>;
  /** `AWS::Lambda::Version` logical id → its version number. */
  readonly versionNumbers: ReadonlyMap<string, string>;
  readonly ctx: ResolveContext;
}

/** Names, version numbers and the Ref/GetAtt answers for one stack. */
export function stackResolution(stack: AssemblyStack, s3Endpoint: string): StackResolution {
  const resources = stack.template.Resources ?? {};
  const arn = (service: string, rest: string) =>
    `arn:aws:${service}:${DEFAULT_LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${rest}`;
  const physical = new Map<string, string>();
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    const explicit = (key: string) => (typeof p[key] === 'string' ? (p[key] as string) : undefined);
    if (r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable') {
      physical.set(id, localResourceName(stack.stackName, id, 'table', explicit('TableName')));
    } else if (r.Type === 'AWS::S3::Bucket') {
      physical.set(id, localResourceName(stack.stackName, id, 'bucket', explicit('BucketName')));
    } else if (r.Type === 'AWS::Lambda::Function') {
      physical.set(id, localResourceName(stack.stackName, id, 'function', explicit('FunctionName')));
    } else if (r.Type === 'AWS::StepFunctions::StateMachine') {
      physical.set(id, localResourceName(stack.stackName, id, 'stateMachine', explicit('StateMachineName')));
    } else if (r.Type === 'AWS::SNS::Topic') {
      physical.set(id, localTopicName(stack.stackName, id, p));
    } else if (r.Type === 'AWS::Events::Rule') {
      // The function naming rule (64 of [A-Za-z0-9_-]) gives valid rule names (64 of [A-Za-z0-9._-]).
      physical.set(id, localResourceName(stack.stackName, id, 'function', explicit('Name')));
    }
  }
  // Published versions are numbered per function in template order, as successive deploys would.
  const versionNumbers = new Map<string, string>();
  const perFunction = new Map<string, number>();
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Version') continue;
    const fn = refOf(r.Properties?.FunctionName);
    const n = (perFunction.get(fn) ?? 0) + 1;
    perFunction.set(fn, n);
    versionNumbers.set(id, String(n));
  }

  const ctx: ResolveContext = {
    region: DEFAULT_LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    stackName: stack.stackName,
    template: stack.template,
    ref(logicalId) {
      const r = resources[logicalId];
      if (!r) return undefined;
      // These two answer Ref with their ARN, not their name.
      if (r.Type === 'AWS::StepFunctions::StateMachine')
        return stateMachineArn(physical.get(logicalId) ?? '');
      if (r.Type === 'AWS::SNS::Topic') return topicArn(physical.get(logicalId) ?? '');
      const known = physical.get(logicalId);
      if (known) return known;
      switch (r.Type) {
        case 'AWS::Lambda::Alias':
          return arn(
            'lambda',
            `function:${physical.get(refOf(r.Properties?.FunctionName))}:${String(r.Properties?.Name)}`,
          );
        case 'AWS::Lambda::Version':
          return arn(
            'lambda',
            `function:${physical.get(refOf(r.Properties?.FunctionName))}:${versionNumbers.get(logicalId)}`,
          );
        case 'AWS::ApiGateway::Stage':
          return String(r.Properties?.StageName ?? logicalId);
        default:
          return `${stack.stackName}-${logicalId}`;
      }
    },
    getAtt(logicalId, attr) {
      const r = resources[logicalId];
      if (!r) return undefined;
      const id = physical.get(logicalId) ?? `${stack.stackName}-${logicalId}`;
      switch (`${r.Type}.${attr}`) {
        case 'AWS::DynamoDB::Table.Arn':
        case 'AWS::DynamoDB::GlobalTable.Arn':
          return arn('dynamodb', `table/${id}`);
        case 'AWS::S3::Bucket.Arn':
          return `arn:aws:s3:::${id}`;
        case 'AWS::S3::Bucket.DomainName':
        case 'AWS::S3::Bucket.RegionalDomainName':
          return `${new URL(s3Endpoint).host}/${id}`;
        case 'AWS::Lambda::Function.Arn':
          return arn('lambda', `function:${id}`);
        case 'AWS::Lambda::Version.Version':
          return versionNumbers.get(logicalId);
        case 'AWS::StepFunctions::StateMachine.Arn':
          return stateMachineArn(id);
        case 'AWS::StepFunctions::StateMachine.Name':
          return id;
        case 'AWS::SNS::Topic.TopicArn':
          return topicArn(id);
        case 'AWS::SNS::Topic.TopicName':
          return id;
        case 'AWS::Events::Rule.Arn': {
          // A bus given by name or ARN; one given by an intrinsic is taken as the default bus.
          const bus = r.Properties?.EventBusName;
          return ruleArn(id, typeof bus === 'string' ? bus.replace(/^arn:.*:event-bus\//, '') : 'default');
        }
        case 'AWS::ApiGateway::RestApi.RootResourceId':
          return `${logicalId}-root`;
        default:
          // An ARN is all most templates read of other resources (policies, log groups).
          return attr === 'Arn' ? arn('local', `${r.Type}/${id}`) : undefined;
      }
    },
  };
  return { physical, versionNumbers, ctx };
}
