// What the local runtime does with each resource type a template declares. Nothing is
// skipped silently: a type is emulated, has no meaning on one machine (and is listed as
// such), or is reported at start-up as not emulated, by logical id.

/** Types brought up locally. */
const EMULATED = new Set([
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::Lambda::Function',
  'AWS::Lambda::Version',
  'AWS::Lambda::Alias',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::ApiKey',
  'AWS::ApiGateway::UsagePlan',
  'AWS::ApiGateway::UsagePlanKey',
  'AWS::ApiGateway::GatewayResponse',
  'Custom::CDKBucketDeployment',
  'AWS::StepFunctions::StateMachine',
  'AWS::SNS::Topic',
  // Event-pattern and schedule rules (local/events/); one whose pattern or schedule cannot be
  // evaluated is moved to not emulated when the stack's rules are read (markNotEmulated).
  'AWS::Events::Rule',
  // CDK's bucket notifications: the EventBridge part (local/events/s3-event-source.ts).
  'Custom::S3BucketNotifications',
  // S3 delivery streams and the log subscriptions feeding them (local/firehose/, local/logs/);
  // one whose settings cannot run locally is moved to not emulated when read (markNotEmulated).
  'AWS::KinesisFirehose::DeliveryStream',
  'AWS::Logs::SubscriptionFilter',
  // Metric alarms, evaluated over the metrics the platform and its functions emit
  // (local/cloudwatch/); one that cannot be evaluated faithfully is moved to not emulated.
  'AWS::CloudWatch::Alarm',
]);

/** Types that change nothing a local run can observe, with the reason shown to the user. */
const NO_LOCAL_MEANING: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'IAM is not enforced locally',
  'AWS::IAM::Policy': 'IAM is not enforced locally',
  'AWS::S3::BucketPolicy': 'bucket policies (TLS-only) are not enforced locally',
  'AWS::Lambda::Permission': 'invoke permissions are not enforced locally',
  'AWS::Lambda::EventInvokeConfig':
    'asynchronous invocations run once locally (no retries, no event age limit, no destinations)',
  'AWS::Lambda::LayerVersion': 'layer modules resolve from the project node_modules',
  'AWS::Logs::LogGroup': 'function logs go to <dataDir>/logs/<function>.log',
  'AWS::Logs::LogStream': 'delivery-error streams: local delivery errors go to the platform log',
  'AWS::ApiGateway::Account': 'account-level API Gateway logging role',
  'AWS::CDK::Metadata': 'CDK metadata',
  'AWS::SNS::TopicPolicy': 'topic policies are not enforced locally',
  'AWS::CloudWatch::Dashboard':
    'dashboards are not drawn locally; GetMetricData on endpoints.cloudwatch answers their queries',
  // Code releases act only when a deploy updates an existing alias; the local runtime creates the
  // alias from the template at every start, as CloudFormation does when it creates a stack.
  'AWS::CodeDeploy::Application':
    "code releases (CodeDeploy) shift an alias only when a deploy updates it; locally the alias starts at the template's version, and the CodeDeploy API answers that no deployment runs",
  'AWS::CodeDeploy::DeploymentGroup':
    "code releases (CodeDeploy) shift an alias only when a deploy updates it; locally the alias starts at the template's version, and the CodeDeploy API answers that no deployment runs",
  'AWS::CodeDeploy::DeploymentConfig': 'traffic-shifting settings of code releases, which do not run locally',
};

export interface ResourceReport {
  readonly stackName: string;
  readonly emulated: string[];
  /** `logicalId (reason)` entries. */
  readonly noLocalMeaning: string[];
  /** `logicalId (type)` entries: declared, not running locally. */
  readonly notEmulated: string[];
  readonly warnings: string[];
}

type Resources = Readonly<
  Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>
>;

/** Functions that only serve a CDK custom resource emulated natively (e.g. BucketDeployment's Python helper). */
function customResourceProviders(resources: Resources): Set<string> {
  const providers = new Set<string>();
  for (const r of Object.values(resources)) {
    if (!r.Type.startsWith('Custom::') || !EMULATED.has(r.Type)) continue;
    const token = r.Properties?.ServiceToken as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const id = token?.['Fn::GetAtt']?.[0];
    if (id) providers.add(id);
  }
  return providers;
}

/** Sort a stack's resources into emulated / no local meaning / not emulated. */
export function classifyResources(stackName: string, resources: Resources): ResourceReport {
  const report: ResourceReport = {
    stackName,
    emulated: [],
    noLocalMeaning: [],
    notEmulated: [],
    warnings: [],
  };
  const providers = customResourceProviders(resources);
  for (const [id, r] of Object.entries(resources)) {
    const runtime = String(r.Properties?.Runtime ?? '');
    if (providers.has(id)) {
      report.noLocalMeaning.push(`${id} (custom resource provider, replaced by a built-in emulation)`);
    } else if (r.Type === 'AWS::Lambda::Function' && !runtime.startsWith('nodejs')) {
      report.notEmulated.push(`${id} (${r.Type}, runtime ${runtime || 'unknown'})`);
    } else if (
      r.Type === 'AWS::Events::Rule' &&
      r.Properties?.EventPattern === undefined &&
      r.Properties?.ScheduleExpression === undefined
    ) {
      report.notEmulated.push(`${id} (${r.Type}, neither EventPattern nor ScheduleExpression)`);
    } else if (EMULATED.has(r.Type)) {
      report.emulated.push(id);
    } else if (NO_LOCAL_MEANING[r.Type]) {
      report.noLocalMeaning.push(`${id} (${NO_LOCAL_MEANING[r.Type]})`);
    } else {
      report.notEmulated.push(`${id} (${r.Type})`);
    }
  }
  return report;
}

/**
 * Move `logicalId` from emulated to not emulated, with the reason: for a resource whose type is
 * emulated but whose properties turn out not to be (e.g. a rule pattern with an unknown operator).
 */
export function markNotEmulated(
  report: ResourceReport,
  logicalId: string,
  type: string,
  reason: string,
): void {
  const at = report.emulated.indexOf(logicalId);
  if (at >= 0) report.emulated.splice(at, 1);
  report.notEmulated.push(`${logicalId} (${type}, ${reason})`);
}
