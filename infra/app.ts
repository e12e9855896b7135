// CDK app entry: the platform stack, with cdk-nag's AwsSolutions checks on every synth.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MlopsStack } from './stacks/mlops-stack.ts';

const app = new App();
// Environment-agnostic: deploys to the account and region of the caller's AWS configuration,
// and synthesizes the same template on every machine (what the local runtime runs).
new MlopsStack(app, app.node.tryGetContext('stackName') ?? 'MlopsStack');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
