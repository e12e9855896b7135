// The local execution environments: real worker threads running a small CommonJS handler.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FunctionError, FunctionRuntime } from '../../../../local/lambda/function-runtime.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlops-fn-'));
const bundleFile = join(dir, 'index.js');
writeFileSync(
  bundleFile,
  `let invocations = 0;
exports.handler = async (event, context) => {
  invocations++;
  if (event.fail) { const e = new Error('boom'); e.name = 'ModelUnavailable'; throw e; }
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  console.log(JSON.stringify({ requestId: context.awsRequestId, table: process.env.TABLE }));
  return { invocations, table: process.env.TABLE, version: context.functionVersion, at: new Date(0) };
};`,
);

const runtimes: FunctionRuntime[] = [];
function runtime(
  overrides: { timeoutSeconds?: number; idleTimeoutMs?: number; maxConcurrency?: number } = {},
) {
  const r = new FunctionRuntime(
    {
      logicalId: 'Fn',
      functionName: 'fn',
      bundleFile,
      handlerName: 'handler',
      environment: { TABLE: 'registry' },
      memorySize: 128,
      timeoutSeconds: 3,
      logDir: dir,
      maxConcurrency: 1,
      ...overrides,
    },
    '3',
  );
  runtimes.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FunctionRuntime', () => {
  it('runs the handler with its own environment and keeps the environment warm', async () => {
    const r = runtime();
    const first = (await r.invoke({})) as { invocations: number; table: string; version: string };
    const second = (await r.invoke({})) as { invocations: number };
    expect(first).toMatchObject({ invocations: 1, table: 'registry', version: '3' });
    expect(second.invocations).toBe(2);
  });

  it('passes payloads as JSON, as Lambda does', async () => {
    expect(((await runtime().invoke({})) as { at: unknown }).at).toBe('1970-01-01T00:00:00.000Z');
  });

  it('runs one invocation at a time per environment', async () => {
    const r = runtime();
    const started = performance.now();
    await Promise.all([r.invoke({ sleepMs: 100 }), r.invoke({ sleepMs: 100 })]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('rejects with the handler error name as errorType', async () => {
    const err = await runtime()
      .invoke({ fail: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionError);
    expect((err as FunctionError).payload).toMatchObject({
      errorType: 'ModelUnavailable',
      errorMessage: 'boom',
    });
  });

  it('times out a slow invocation and replaces its environment', async () => {
    const r = runtime({ timeoutSeconds: 0.2 });
    await expect(r.invoke({ sleepMs: 1_000 })).rejects.toThrow(/timed out/);
    expect(((await r.invoke({})) as { invocations: number }).invocations).toBe(1);
  });

  it('runs invocations queued behind a timed-out one in a fresh environment', async () => {
    const r = runtime({ timeoutSeconds: 0.3 });
    const [slow, queued] = await Promise.allSettled([r.invoke({ sleepMs: 2_000 }), r.invoke({})]);
    expect(slow.status).toBe('rejected');
    expect(queued).toMatchObject({ status: 'fulfilled', value: { invocations: 1 } });
  });

  it('writes what the handler logs to the function log file', async () => {
    await runtime().invoke({}, { requestId: 'req-123' });
    await new Promise((r) => setTimeout(r, 50));
    expect(readFileSync(join(dir, 'fn.log'), 'utf8')).toContain('"requestId":"req-123"');
  });

  it('shuts idle environments down', async () => {
    const r = runtime({ idleTimeoutMs: 100 });
    await r.invoke({});
    expect(r.size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(r.size).toBe(0);
  });
});
