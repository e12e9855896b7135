// Test support: synthesize the platform stack (bundling skipped unless asked) with cdk-nag on,
// returning its template. Synthesis fails on any unacknowledged finding.

import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MlopsStack, type MlopsStackProps } from '../../infra/stacks/mlops-stack.ts';

export interface SynthOptions {
  /** Run esbuild and build the layer (slow); off by default. */
  readonly bundle?: boolean;
  readonly outdir?: string;
  /** Change the stack before synthesis (e.g. add a non-compliant resource). */
  readonly mutate?: (stack: MlopsStack) => void;
}

/** The feature flags and settings of cdk.json, so tests synthesize what `cdk synth` does. */
const cdkJsonContext = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** Synthesize the stack; throws when cdk-nag reports an unacknowledged finding. */
export function synthStack(props: MlopsStackProps = {}, options: SynthOptions = {}) {
  const app = new App({
    outdir: options.outdir,
    context: { ...cdkJsonContext, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const stack = new MlopsStack(app, 'TestStack', props);
  options.mutate?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  return { app, stack, assembly, template: Template.fromStack(stack) };
}
