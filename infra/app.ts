// CDK app entry: the platform stack, with cdk-nag's AwsSolutions checks on every synth.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MlopsStack } from './stacks/mlops-stack.ts';

const app = new App();
// Environment-agnostic: deploys to the account and region of the caller's AWS configuration,
// and synthesizes the same template on every machine (what the local runtime runs).
/** Context values given as one address or a comma-separated list (`cdk deploy -c pageEmail=a@x,b@x`). */
const list = (key: string): string[] =>
  String(app.node.tryGetContext(key) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
new MlopsStack(app, app.node.tryGetContext('stackName') ?? 'MlopsStack', {
  page: { emails: list('pageEmail'), urls: list('pageUrl') },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
