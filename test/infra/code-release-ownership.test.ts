// Code releases and model releases share the predict function's `live` alias. Both orders — a
// `cdk deploy` then a model release, and a model release then a `cdk deploy` — and the overlaps
// must leave the alias serving the intended model. Modelled with fakes of Lambda (versions,
// `$LATEST`, the alias and its revision), CloudFormation (it writes only the function properties
// the template changed, then publishes a version) and CodeDeploy (it refuses an alias that is not
// on the version its AppSpec calls current). The parts under test are the real ones: the deploy
// revision stamp, the guard, the release's routing helpers and the predict function's resolver.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ModelRegistry, ModelVersion } from '../../functions/lib/registry/model-version.ts';
import {
  AliasChanged,
  type AliasState,
  type Routing,
  routingAt,
  routingOf,
} from '../../functions/lib/releases/alias-routing.ts';
import {
  assertModelReleaseMayStart,
  assertNoCodeDeployment,
  CodeDeploymentInProgress,
  type CodeDeployPorts,
} from '../../functions/lib/releases/code-deploy-guard.ts';
import { createVersionResolver } from '../../functions/lib/serving/version-resolver.ts';
import { stampDeployRevision } from '../../infra/constructs/code-release.ts';

const MODEL = 'flight-delay';

/** What CloudFormation is asked to deploy for the predict function. */
interface FunctionSource {
  readonly code: string;
  readonly memorySize?: number;
}

/** The function's properties as the synthesized template declares them. */
interface FunctionTemplate {
  readonly code: string;
  readonly memorySize: number;
  readonly environment: Readonly<Record<string, string>>;
}

/** Synthesize the predict function (stamped as the stack stamps it, unless told not to). */
function synthFunction(source: FunctionSource, stamped: boolean): FunctionTemplate {
  const stack = new Stack(new App(), 'Platform');
  const fn = new lambda.Function(stack, 'Predict', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(source.code),
    memorySize: source.memorySize ?? 1769,
    environment: { REGISTRY_TABLE: 'registry' },
  });
  if (stamped) stampDeployRevision(fn);
  const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  const p = resource?.Properties;
  return { code: p.Code.ZipFile, memorySize: p.MemorySize, environment: p.Environment.Variables };
}

interface Configuration {
  code: string;
  memorySize: number;
  environment: Record<string, string>;
}

/** Lambda: `$LATEST`, immutable published versions, the `live` alias with a revision id. */
class FakeLambda {
  latest: Configuration = { code: '', memorySize: 128, environment: {} };
  readonly versions = new Map<string, Readonly<Configuration>>();
  private alias: AliasState = { version: '', revisionId: 'r0' };
  private revisions = 0;

  publish(): string {
    const version = String(this.versions.size + 1);
    this.versions.set(version, structuredClone(this.latest));
    return version;
  }

  getAlias(): AliasState {
    return structuredClone(this.alias);
  }

  /** UpdateAlias; with `revisionId`, only if the alias has not moved since it was read. */
  updateAlias(routing: Routing, revisionId?: string): void {
    if (revisionId !== undefined && revisionId !== this.alias.revisionId)
      throw new AliasChanged(`alias moved from revision ${revisionId} to ${this.alias.revisionId}`);
    this.revisions += 1;
    this.alias = { ...structuredClone(routing), revisionId: `r${this.revisions}` };
  }
}

/** CodeDeploy's Lambda deployments, as far as the alias is concerned. */
class FakeCodeDeploy implements CodeDeployPorts {
  private active: string[] = [];
  private count = 0;

  constructor(private readonly lambda: FakeLambda) {}

  async listActiveDeployments() {
    return [...this.active];
  }

  /** Canary 10%, then all; `duringShift` runs while the deployment is in progress. */
  async deploy(current: string, target: string, duringShift?: () => Promise<void>): Promise<void> {
    // CodeDeploy's documented check (error code INVALID_LAMBDA_CONFIGURATION).
    if (this.lambda.getAlias().version !== current)
      throw new Error(
        'INVALID_LAMBDA_CONFIGURATION: The Lambda function alias version does not match the current version in AppSpec file',
      );
    this.count += 1;
    const id = `d-${this.count}`;
    this.active.push(id);
    try {
      this.lambda.updateAlias(routingAt(current, target, 10));
      await duringShift?.();
      this.lambda.updateAlias(routingAt(current, target, 100));
    } finally {
      this.active = this.active.filter((d) => d !== id);
    }
  }
}

/** CloudFormation updating the predict function, its current version and the alias. */
class FakeStack {
  private deployed?: FunctionTemplate;
  /** The version CloudFormation recorded for the alias: CodeDeploy's "current" next time. */
  recordedVersion?: string;

  constructor(
    private readonly lambda: FakeLambda,
    private readonly codeDeploy: FakeCodeDeploy,
    private readonly stamped = true,
  ) {}

  async deploy(source: FunctionSource, duringShift?: () => Promise<void>): Promise<void> {
    const next = synthFunction(source, this.stamped);
    const previous = this.deployed;
    if (previous && JSON.stringify(previous) === JSON.stringify(next)) return; // no change, no new version
    // Only properties that differ from the last template are written to $LATEST.
    if (!previous || previous.code !== next.code) this.lambda.latest.code = next.code;
    if (!previous || previous.memorySize !== next.memorySize) this.lambda.latest.memorySize = next.memorySize;
    if (!previous || JSON.stringify(previous.environment) !== JSON.stringify(next.environment))
      this.lambda.latest.environment = { ...next.environment };
    const version = this.lambda.publish();
    if (this.recordedVersion === undefined) this.lambda.updateAlias({ version });
    else await this.codeDeploy.deploy(this.recordedVersion, version, duringShift);
    this.deployed = next;
    this.recordedVersion = version;
  }
}

/** The registry's Production pointer for one model. */
class FakeRegistry {
  production = 1;
  asPort(): ModelRegistry {
    const v = (version: number) => ({ model: MODEL, version }) as ModelVersion;
    return {
      getProductionVersion: async () => v(this.production),
      getVersion: async (_: string, version: number) => v(version),
      getModel: async () => ({ model: MODEL, latestVersion: 9, stageRevision: 1 }),
    } as unknown as ModelRegistry;
  }
}

interface World {
  readonly lambda: FakeLambda;
  readonly codeDeploy: FakeCodeDeploy;
  readonly stack: FakeStack;
  readonly registry: FakeRegistry;
}

function world(options: { stamped?: boolean } = {}): World {
  const fakeLambda = new FakeLambda();
  const codeDeploy = new FakeCodeDeploy(fakeLambda);
  return {
    lambda: fakeLambda,
    codeDeploy,
    stack: new FakeStack(fakeLambda, codeDeploy, options.stamped ?? true),
    registry: new FakeRegistry(),
  };
}

/**
 * A model release as the ownership rule has it: start only when no code release runs and the
 * alias is at rest; publish the challenger from the base version's environment plus its pin;
 * re-check CodeDeploy and write the alias conditionally at every step; on success promote,
 * then hand the alias back at rest on the base version; on failure, back to the base version.
 */
async function modelRelease(
  w: World,
  version: number,
  options: { healthy?: boolean; beforeStep?: (percent: number) => Promise<void> } = {},
): Promise<'promoted' | 'rolled back' | 'interrupted'> {
  const { baseVersion } = await assertModelReleaseMayStart(w.lambda.getAlias(), w.codeDeploy);
  const base = w.lambda.versions.get(baseVersion);
  if (!base) throw new Error(`no version ${baseVersion}`);
  const pins = JSON.parse(base.environment.MODEL_VERSION_PINS ?? '{}') as Record<string, number>;
  w.lambda.latest.environment = {
    ...base.environment,
    MODEL_VERSION_PINS: JSON.stringify({ ...pins, [MODEL]: version }),
  };
  const challenger = w.lambda.publish();
  let revision = w.lambda.getAlias().revisionId;
  const write = async (routing: Routing) => {
    await assertNoCodeDeployment(w.codeDeploy);
    w.lambda.updateAlias(routing, revision);
    revision = w.lambda.getAlias().revisionId;
  };
  try {
    for (const percent of [5, 25, 50, 100]) {
      await options.beforeStep?.(percent);
      await write(routingAt(baseVersion, challenger, percent));
      if (options.healthy === false) {
        await write({ version: baseVersion });
        return 'rolled back';
      }
    }
    w.registry.production = version;
    await write({ version: baseVersion });
    return 'promoted';
  } catch (err) {
    // A code release took the alias: stop, touching neither the alias nor the registry.
    if (err instanceof CodeDeploymentInProgress || err instanceof AliasChanged) return 'interrupted';
    throw err;
  }
}

/** Model version → share of live traffic, as the predict function would resolve it. */
async function servedModels(w: World): Promise<Record<number, number>> {
  const alias = w.lambda.getAlias();
  const shares: Array<[string, number]> = alias.additional
    ? [
        [alias.version, 1 - alias.additional.weight],
        [alias.additional.version, alias.additional.weight],
      ]
    : [[alias.version, 1]];
  const served: Record<number, number> = {};
  for (const [version, share] of shares) {
    const env = w.lambda.versions.get(version)?.environment ?? {};
    const pins = env.MODEL_VERSION_PINS ? (JSON.parse(env.MODEL_VERSION_PINS) as Record<string, number>) : {};
    const resolved = await createVersionResolver(w.registry.asPort(), { pins })(MODEL);
    served[resolved.version] = (served[resolved.version] ?? 0) + share;
  }
  return served;
}

const pinsOf = (w: World, version: string) => w.lambda.versions.get(version)?.environment.MODEL_VERSION_PINS;
const CODE_A = { code: 'exports.handler = async () => "a";' };
const CODE_B = { code: 'exports.handler = async () => "b";' };

describe('a code release, then a model release', () => {
  it('ends with the alias at rest on the new code, serving the promoted model', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    await w.stack.deploy(CODE_B);
    const codeVersion = w.stack.recordedVersion ?? '';
    expect(routingOf(w.lambda.getAlias())).toEqual({ version: codeVersion });

    expect(await modelRelease(w, 2)).toBe('promoted');

    expect(routingOf(w.lambda.getAlias())).toEqual({ version: codeVersion });
    expect(w.lambda.versions.get(codeVersion)?.code).toBe(synthFunction(CODE_B, true).code);
    expect(pinsOf(w, codeVersion)).toBeUndefined();
    expect(await servedModels(w)).toEqual({ 2: 1 });
  });
});

describe('a model release, then a code release', () => {
  it('lets CodeDeploy start from the version it recorded and keeps the promoted model serving', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    expect(await modelRelease(w, 2)).toBe('promoted');
    expect(w.lambda.latest.environment.MODEL_VERSION_PINS).toBe('{"flight-delay":2}'); // left on $LATEST

    await w.stack.deploy(CODE_B);

    const codeVersion = w.stack.recordedVersion ?? '';
    expect(routingOf(w.lambda.getAlias())).toEqual({ version: codeVersion });
    expect(pinsOf(w, codeVersion)).toBeUndefined();
    expect(await servedModels(w)).toEqual({ 2: 1 });
  });

  it('does not ship a rolled-back challenger’s pin with the new code', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    expect(await modelRelease(w, 3, { healthy: false })).toBe('rolled back');
    expect(await servedModels(w)).toEqual({ 1: 1 });

    await w.stack.deploy(CODE_B);
    expect(await servedModels(w)).toEqual({ 1: 1 });
  });

  it('also drops the pin when only the configuration changed', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    await modelRelease(w, 3, { healthy: false });
    await w.stack.deploy({ ...CODE_A, memorySize: 3008 });
    expect(pinsOf(w, w.stack.recordedVersion ?? '')).toBeUndefined();
    expect(await servedModels(w)).toEqual({ 1: 1 });
  });

  it('would ship that pin without the deploy revision stamp (why the stack stamps the function)', async () => {
    const w = world({ stamped: false });
    await w.stack.deploy(CODE_A);
    await modelRelease(w, 3, { healthy: false });
    await w.stack.deploy(CODE_B);
    expect(await servedModels(w)).toEqual({ 3: 1 });
  });

  it('would fail if a release left the challenger as the alias’s version (why releases hand it back)', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    const base = w.lambda.getAlias();
    const challenger = w.lambda.publish();
    w.lambda.updateAlias({ version: challenger }, base.revisionId);
    await expect(w.stack.deploy(CODE_B)).rejects.toThrow(/INVALID_LAMBDA_CONFIGURATION/);
  });
});

describe('overlapping releases', () => {
  it('refuses a model release while CodeDeploy shifts the alias, and the code release completes', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    let refused: unknown;
    await w.stack.deploy(CODE_B, async () => {
      refused = await modelRelease(w, 2).catch((err: unknown) => err);
    });
    expect(refused).toBeInstanceOf(CodeDeploymentInProgress);
    expect(routingOf(w.lambda.getAlias())).toEqual({ version: w.stack.recordedVersion });
    expect(w.registry.production).toBe(1);
    expect(await servedModels(w)).toEqual({ 1: 1 });
  });

  it('stops a model release whose next step finds a code release shifting the alias', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    let finishShift = () => {};
    let codeRelease: Promise<void> | undefined;
    const outcome = await modelRelease(w, 2, {
      beforeStep: async (percent) => {
        // `cdk deploy` starts while the canary is at 5%; CodeDeploy is still shifting at the next step.
        if (percent === 25)
          codeRelease = w.stack.deploy(CODE_B, () => new Promise<void>((resolve) => (finishShift = resolve)));
      },
    });
    expect(outcome).toBe('interrupted');
    finishShift();
    await codeRelease;
    expect(w.registry.production).toBe(1);
    expect(routingOf(w.lambda.getAlias())).toEqual({ version: w.stack.recordedVersion });
    expect(await servedModels(w)).toEqual({ 1: 1 });
  });

  it('stops a model release whose alias a finished code release moved between two steps', async () => {
    const w = world();
    await w.stack.deploy(CODE_A);
    const outcome = await modelRelease(w, 2, {
      beforeStep: async (percent) => {
        if (percent === 50) await w.stack.deploy(CODE_B);
      },
    });
    expect(outcome).toBe('interrupted');
    expect(w.registry.production).toBe(1);
    expect(routingOf(w.lambda.getAlias())).toEqual({ version: w.stack.recordedVersion });
    expect(await servedModels(w)).toEqual({ 1: 1 });
  });
});
