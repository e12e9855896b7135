// Versions run with their own configuration, alias changes apply from the next invocation while
// those in flight finish where they started, faults hit one version only, and asynchronous
// invocations report their failures to the log: real worker threads running a small handler.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../functions/lib/random.ts';
import { FunctionError } from '../../../../local/lambda/function-runtime.ts';
import { type AliasChange, LambdaService } from '../../../../local/lambda/lambda-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlops-versions-'));
writeFileSync(
  join(dir, 'index.js'),
  `exports.handler = async (event, context) => {
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return {
    version: context.functionVersion,
    envVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    pins: process.env.MODEL_VERSION_PINS ?? null,
    memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? null,
  };
};`,
);

interface Answer {
  version: string;
  envVersion: string;
  pins: string | null;
  memory: string;
  endpoint: string | null;
}

const services: LambdaService[] = [];
function service(opts: { log?: (line: string) => void; seed?: number } = {}) {
  const lambda = new LambdaService(seededRandom(opts.seed ?? 7), opts.log ? { log: opts.log } : {});
  lambda.addFunction({
    logicalId: 'Predict',
    functionName: 'predict',
    bundleFile: join(dir, 'index.js'),
    handlerName: 'handler',
    environment: { TABLE: 'registry' },
    platformEnvironment: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' },
    memorySize: 256,
    timeoutSeconds: 5,
    logDir: dir,
    maxConcurrency: 2,
  });
  lambda.addVersion('predict', '1');
  lambda.setAlias('live', { functionName: 'predict', version: '1', additionalVersions: [] });
  services.push(lambda);
  return lambda;
}

/** Publish a version of `lambda`'s predict function pinned to `pins`. */
function publishPinned(lambda: LambdaService, pins: Record<string, number>): string {
  const latest = lambda.getFunctionConfiguration('predict').config;
  lambda.updateFunctionConfiguration('predict', {
    variables: { ...latest.variables, MODEL_VERSION_PINS: JSON.stringify(pins) },
  });
  return lambda.publishVersion('predict').config.version;
}

const invoke = async (lambda: LambdaService, ref: string, event: object = {}) =>
  (await lambda.invoke(ref, event)).result as Answer;

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('versions with their own configuration', () => {
  it('runs a published version with its snapshot and $LATEST with the current configuration', async () => {
    const lambda = service();
    const v2 = publishPinned(lambda, { 'flight-delay': 2 });
    lambda.updateFunctionConfiguration('predict', {
      variables: { TABLE: 'registry', MODEL_VERSION_PINS: '{"flight-delay":3}' },
      memorySize: 512,
    });

    expect(v2).toBe('2');
    expect(await invoke(lambda, 'predict:1')).toMatchObject({ version: '1', pins: null, memory: '256' });
    expect(await invoke(lambda, 'predict:2')).toMatchObject({
      version: '2',
      envVersion: '2',
      pins: '{"flight-delay":2}',
      memory: '256',
      // Platform variables (endpoints) are every version's, not part of its configuration.
      endpoint: 'http://127.0.0.1:1',
    });
    expect(await invoke(lambda, 'predict')).toMatchObject({
      version: '$LATEST',
      pins: '{"flight-delay":3}',
      memory: '512',
    });
  });

  it('lets a $LATEST invocation in flight finish on the configuration it started with', async () => {
    const lambda = service();
    const slow = invoke(lambda, 'predict', { sleepMs: 400 });
    await new Promise((r) => setTimeout(r, 150)); // the slow invocation is running
    lambda.updateFunctionConfiguration('predict', { variables: { MODEL_VERSION_PINS: '{"m":9}' } });
    const after = await invoke(lambda, 'predict');
    expect((await slow).pins).toBeNull();
    expect(after.pins).toBe('{"m":9}');
  });
});

describe('alias shifts under load', () => {
  it('answers every invocation while the weights change, each on a version the alias routed to then', async () => {
    const lambda = service();
    const v2 = publishPinned(lambda, { 'flight-delay': 2 });
    const plan = [0.05, 0.25, 0.5, 1, 0.5, 0];
    let stop = false;
    const answers: Answer[] = [];
    const failures: unknown[] = [];
    const client = async () => {
      while (!stop) {
        try {
          answers.push(await invoke(lambda, 'predict:live', { sleepMs: 2 }));
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const clients = Array.from({ length: 6 }, client);
    for (const weight of plan) {
      await new Promise((r) => setTimeout(r, 60));
      lambda.updateAlias(
        'predict',
        'live',
        weight === 1
          ? { functionVersion: v2, additionalVersions: [] }
          : { functionVersion: '1', additionalVersions: [{ version: v2, weight }] },
      );
    }
    await new Promise((r) => setTimeout(r, 60));
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(answers.length).toBeGreaterThan(50);
    const seen = new Set(answers.map((a) => a.version));
    expect(seen).toEqual(new Set(['1', '2']));
    // Whichever version answered, it ran its own configuration.
    for (const a of answers) expect(a.pins).toBe(a.version === '2' ? '{"flight-delay":2}' : null);
  });

  it('applies a change to the next invocation', async () => {
    const lambda = service();
    const v2 = publishPinned(lambda, { m: 2 });
    expect((await invoke(lambda, 'predict:live')).version).toBe('1');
    lambda.updateAlias('predict', 'live', { functionVersion: v2 });
    expect((await invoke(lambda, 'predict:live')).version).toBe('2');
  });

  it('tells listeners about every alias change, with a log line in the platform format', () => {
    const lambda = service();
    const changes: AliasChange[] = [];
    lambda.onAliasChange((c) => changes.push(c));
    const v2 = publishPinned(lambda, { m: 2 });
    lambda.updateAlias('predict', 'live', { additionalVersions: [{ version: v2, weight: 0.05 }] });
    expect(changes).toEqual([
      {
        functionName: 'predict',
        aliasName: 'live',
        previous: { functionName: 'predict', version: '1', additionalVersions: [] },
        current: {
          functionName: 'predict',
          version: '1',
          additionalVersions: [{ version: '2', weight: 0.05 }],
        },
        cause: 'api',
      },
    ]);
  });
});

describe('faults per version', () => {
  it('fails only the invocations resolved to the faulty version', async () => {
    const lambda = service();
    const v2 = publishPinned(lambda, { m: 2 });
    lambda.updateAlias('predict', 'live', { additionalVersions: [{ version: v2, weight: 0.5 }] });
    lambda.injectFault(`predict:${v2}`, {
      kind: 'error',
      errorType: 'ModelUnavailable',
      errorMessage: 'boom',
    });

    const outcomes = await Promise.all(
      Array.from({ length: 40 }, () =>
        lambda.invoke('predict:live', {}).then(
          (r) => ({ ok: true, version: r.version }),
          (e: unknown) => ({ ok: false, type: (e as FunctionError).payload?.errorType }),
        ),
      ),
    );
    const failed = outcomes.filter((o) => !o.ok);
    const served = outcomes.filter((o) => o.ok);
    expect(failed.length).toBeGreaterThan(5);
    expect(served.length).toBeGreaterThan(5);
    expect(failed.every((o) => 'type' in o && o.type === 'ModelUnavailable')).toBe(true);
    expect(served.every((o) => 'version' in o && o.version === '1')).toBe(true);
    await expect(lambda.invoke('predict:1', {})).resolves.toMatchObject({ version: '1' });
    await expect(lambda.invoke(`predict:${v2}`, {})).rejects.toBeInstanceOf(FunctionError);
  });

  it('keeps the per-function fault for a bare name', async () => {
    const lambda = service();
    publishPinned(lambda, { m: 2 });
    lambda.injectFault('predict', { kind: 'throttle' }, { times: 2 });
    await expect(lambda.invoke('predict:1', {})).rejects.toThrow('Rate Exceeded.');
    await expect(lambda.invoke('predict:2', {})).rejects.toThrow('Rate Exceeded.');
    await expect(lambda.invoke('predict:2', {})).resolves.toMatchObject({ version: '2' });
  });

  it('fails when the fault names an alias or a version that does not exist', () => {
    const lambda = service();
    expect(() => lambda.injectFault('predict:live', { kind: 'throttle' })).toThrow(
      /live is an alias: faults are injected per version/,
    );
    expect(() => lambda.injectFault('predict:9', { kind: 'throttle' })).toThrow(
      'Function not found: predict:9',
    );
  });
});

describe('asynchronous invocations', () => {
  it('runs an alias invocation in the background and logs its failure instead of throwing', async () => {
    const lines: string[] = [];
    const lambda = service({ log: (line) => lines.push(line) });
    const v2 = publishPinned(lambda, { m: 2 });
    lambda.createAlias('predict', { name: 'shadow', functionVersion: v2 });
    const runs: string[] = [];
    lambda.setMetricsSink({
      onInvocation: (_fn, qualifier, version) => runs.push(`${qualifier}→${version}`),
    });

    expect(lambda.invokeAsync('predict:shadow', {})).toEqual({ version: '2' });
    lambda.injectFault(`predict:${v2}`, {
      kind: 'error',
      errorType: 'ModelUnavailable',
      errorMessage: 'no model',
    });
    lambda.invokeAsync('predict:shadow', {});
    await expect.poll(() => runs.length).toBe(2);
    const failures = () => lines.filter((l) => l.includes('asynchronous'));
    await expect.poll(() => failures().length).toBe(1);
    expect(failures()).toEqual([
      '[lambda] predict:shadow asynchronous invocation on version 2 failed: ModelUnavailable: no model',
    ]);
  });

  it('refuses at once an alias that does not exist', () => {
    expect(() => service().invokeAsync('predict:canary', {})).toThrow('Function not found: predict:canary');
  });
});
