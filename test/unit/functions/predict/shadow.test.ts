// Shadow releases in the predict function, with in-memory ports: the champion answers exactly as
// without a shadow and copies a captured request only after answering; a copy that cannot be sent,
// or a shadow configuration that cannot be read, changes nothing for the client; the challenger
// scores a copy with its own version and captures it as `shadow`, and never throws.
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { CaptureRecordSchema } from '../../../../functions/lib/capture/capture-record.ts';
import { createCaptureSink } from '../../../../functions/lib/capture/capture-sink.ts';
import type { FeatureSet } from '../../../../functions/lib/features/feature-set.ts';
import type { EmfEntry } from '../../../../functions/lib/metrics/emf.ts';
import type { ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import type { ShadowConfig } from '../../../../functions/lib/releases/shadow-config.ts';
import type { ShadowCopy } from '../../../../functions/lib/releases/shadow-copy.ts';
import type { LoadedModel } from '../../../../functions/lib/serving/loaded-model.ts';
import type { PredictPorts } from '../../../../functions/predict/core.ts';
import { createPredictHandler } from '../../../../functions/predict/http.ts';
import {
  createShadowCopyHandler,
  createShadowDispatcher,
  type ShadowDispatchPorts,
} from '../../../../functions/predict/shadow.ts';

interface Instance {
  readonly x: number;
}

/** Encodes an instance as its `x`; the model's score is its input, so answers are known by hand. */
const featureSet = {
  name: 'fake-v1',
  instanceSchema: z.strictObject({ x: z.number().min(0).max(1) }),
  fit: () => ({}),
  featureNames: () => ['x'],
  encode: (rows: readonly Instance[]) => Float32Array.from(rows, (r) => r.x),
} satisfies FeatureSet<Instance, unknown>;

const version = (v: number) => ({ model: 'm', version: v, artifactSha256: 'a'.repeat(64) }) as ModelVersion;

/** Ports serving model `m` at `servingVersion`; its scores are the inputs plus `shift`. */
function ports(servingVersion: number, shift = 0): PredictPorts {
  const model: LoadedModel = {
    version: version(servingVersion),
    featureSet: featureSet as FeatureSet,
    encoding: {},
    threshold: 0.5,
    score: async (features, rows) => features.slice(0, rows).map((x) => Math.min(1, x + shift)),
  };
  return { resolveVersion: async () => version(servingVersion), loadModel: async () => model };
}

const CONFIG: ShadowConfig = {
  model: 'm',
  challengerVersion: 2,
  championVersion: 1,
  functionVersion: '9',
  releaseId: 'release-1',
  startedAt: '2026-11-27T10:00:00.000Z',
  until: '2026-11-27T11:00:00.000Z',
  state: 'active',
};
const NOW = new Date('2026-11-27T10:30:00.000Z');
const INSTANCES = [{ x: 0.2 }, { x: 0.7 }];

const event = (model: string, body: unknown, requestId = 'req-1') =>
  ({
    pathParameters: { model },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId },
  }) as unknown as APIGatewayProxyEvent;

const logger = () => {
  const l = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  return { logger: l, warn: vi.spyOn(l, 'warn'), error: vi.spyOn(l, 'error') };
};

/** A champion (function version 4) with capture and metrics into arrays, and a dispatcher over `shadow`. */
function champion(shadow: Partial<ShadowDispatchPorts> & { readonly sampleRate?: number } = {}) {
  const lines: string[] = [];
  const metrics: EmfEntry[] = [];
  const order: string[] = [];
  const sent: ShadowCopy[] = [];
  const log = logger();
  const observers = {
    functionVersion: '4',
    emitMetrics: (entries: readonly EmfEntry[]) => {
      metrics.push(...entries);
    },
    clock: () => NOW,
  };
  const dispatcher = createShadowDispatcher(
    {
      lookup: shadow.lookup ?? (async () => CONFIG),
      send:
        shadow.send ??
        (async (copy) => {
          order.push('send');
          sent.push(copy);
        }),
      ...(shadow.sendBudgetMs === undefined ? {} : { sendBudgetMs: shadow.sendBudgetMs }),
    },
    log.logger,
    observers,
  );
  const capture = createCaptureSink({
    sampleRate: shadow.sampleRate ?? 1,
    write: (text) => {
      order.push('capture');
      lines.push(...text.trim().split('\n'));
    },
  });
  const handler = createPredictHandler(ports(1), log.logger, { ...observers, capture, shadow: dispatcher });
  const plain = createPredictHandler(ports(1), logger().logger, {
    ...observers,
    capture: () => ({ captured: 1 }),
  });
  const invoke = (e: APIGatewayProxyEvent) => handler(e, { awsRequestId: 'lambda-1' });
  return { invoke, plain, lines, metrics, order, sent, log };
}

/** Let background sends settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const names = (metrics: readonly EmfEntry[]) =>
  metrics.flatMap((m) => m.metrics.map((v) => `${v.name}=${v.value}`));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the champion during a shadow', () => {
  it('answers as it would without a shadow, then copies the request as the client sent it', async () => {
    const c = champion();
    const response = await c.invoke(event('m', { instances: INSTANCES }));
    const baseline = await c.plain(event('m', { instances: INSTANCES }), { awsRequestId: 'lambda-1' });
    await settle();
    expect(response).toEqual(baseline);
    expect(c.sent).toEqual([
      {
        kind: 'shadow-copy',
        requestId: 'req-1',
        model: 'm',
        challengerVersion: 2,
        releaseId: 'release-1',
        instances: INSTANCES,
        sentAt: NOW.toISOString(),
      },
    ]);
    // Captured (answered) first, copied after.
    expect(c.order).toEqual(['capture', 'send']);
    expect(names(c.metrics)).toContain('ShadowCopiesSent=1');
  });

  it('returns without waiting for the copy to be handed over', async () => {
    const c = champion({ send: () => new Promise<void>(() => undefined) });
    const response = await c.invoke(event('m', { instances: INSTANCES }));
    expect(response.statusCode).toBe(200);
  });

  it('waits for the copy at most its send budget', async () => {
    const c = champion({ send: () => new Promise<void>(() => undefined), sendBudgetMs: 30 });
    const started = performance.now();
    const response = await c.invoke(event('m', { instances: INSTANCES }));
    const waited = performance.now() - started;
    expect(response.statusCode).toBe(200);
    expect(waited).toBeGreaterThanOrEqual(25);
    expect(waited).toBeLessThan(1_000);
  });

  it('answers the same when the copy cannot be sent, and counts a ShadowErrors', async () => {
    const c = champion({
      send: async () => Promise.reject(new Error('TooManyRequestsException: Rate Exceeded.')),
    });
    const response = await c.invoke(event('m', { instances: INSTANCES }));
    const baseline = await c.plain(event('m', { instances: INSTANCES }), { awsRequestId: 'lambda-1' });
    await settle();
    expect(response).toEqual(baseline);
    expect(names(c.metrics)).toContain('ShadowErrors=1');
    expect(c.metrics.find((m) => m.metrics.some((v) => v.name === 'ShadowErrors'))).toMatchObject({
      dimensions: { Model: 'm', FunctionVersion: '4' },
      properties: { shadowStage: 'send', releaseId: 'release-1' },
    });
    expect(c.log.warn).toHaveBeenCalledWith(
      'shadow copy not sent; the live request was answered',
      expect.objectContaining({ requestId: 'req-1' }),
    );
  });

  it('answers the same when the shadow configuration cannot be read, and copies nothing', async () => {
    const c = champion({ lookup: async () => Promise.reject(new Error('ResourceNotFoundException')) });
    const response = await c.invoke(event('m', { instances: INSTANCES }));
    await settle();
    expect(response.statusCode).toBe(200);
    expect(c.sent).toEqual([]);
    expect(c.log.warn).toHaveBeenCalledWith(
      'shadow configuration not read; no copy for this request',
      expect.anything(),
    );
  });

  it('copies nothing for another model, a refused request or a request outside the capture sample', async () => {
    const other = champion({ lookup: async () => ({ ...CONFIG, model: 'other' }) });
    await other.invoke(event('m', { instances: INSTANCES }));
    const refused = champion();
    expect((await refused.invoke(event('m', { instances: [{ x: 7 }] }))).statusCode).toBe(400);
    const unsampled = champion({ sampleRate: 0.000_001 });
    await unsampled.invoke(event('m', { instances: INSTANCES }));
    await settle();
    expect([other.sent, refused.sent, unsampled.sent]).toEqual([[], [], []]);
  });
});

describe('the challenger scoring a copy', () => {
  const copy: ShadowCopy = {
    kind: 'shadow-copy',
    requestId: 'req-1',
    model: 'm',
    challengerVersion: 2,
    releaseId: 'release-1',
    instances: INSTANCES,
    sentAt: '2026-11-27T10:29:59.950Z',
  };

  function challenger(servingVersion = 2) {
    const lines: string[] = [];
    const metrics: EmfEntry[] = [];
    const log = logger();
    const handler = createShadowCopyHandler(ports(servingVersion, 0.1), log.logger, {
      functionVersion: '9',
      capture: createCaptureSink({ sampleRate: 1, write: (text) => lines.push(...text.trim().split('\n')) }),
      emitMetrics: (entries) => {
        metrics.push(...entries);
      },
      clock: () => NOW,
    });
    return { handler, lines, metrics, log };
  }

  it('scores with its own version and captures each answer as shadow of the live request', async () => {
    const c = challenger();
    const outcome = await c.handler(copy, { awsRequestId: 'shadow-invocation-1' });
    expect(outcome).toMatchObject({ status: 'scored', model: 'm', version: 2, rows: 2 });
    const records = c.lines.map((l) => CaptureRecordSchema.parse(JSON.parse(l)));
    expect(
      records.map((r) => [r.role, r.shadowOf, r.requestId, r.index, r.version, r.functionVersion]),
    ).toEqual([
      ['shadow', 'req-1', 'shadow-invocation-1', 0, 2, '9'],
      ['shadow', 'req-1', 'shadow-invocation-1', 1, 2, '9'],
    ]);
    expect(records.map((r) => r.score)).toEqual([expect.closeTo(0.3, 6), expect.closeTo(0.8, 6)]);
  });

  it('counts shadow metrics only, never the served-path prediction metrics', async () => {
    const c = challenger();
    await c.handler(copy, { awsRequestId: 'i' });
    expect(names(c.metrics).map((n) => n.split('=')[0])).toEqual([
      'ShadowPredictions',
      'ShadowPredictionLatency',
      'ShadowErrors',
    ]);
    expect(names(c.metrics)).toContain('ShadowErrors=0');
  });

  it('refuses a copy meant for another version, capturing nothing', async () => {
    const c = challenger(3);
    const outcome = await c.handler(copy, { awsRequestId: 'i' });
    expect(outcome).toEqual({
      status: 'failed',
      model: 'm',
      reason: 'function version 9 serves m v3, the shadow expects v2',
    });
    expect(c.lines).toEqual([]);
    expect(names(c.metrics)).toEqual(['ShadowErrors=1']);
  });

  it('resolves (never throws) when the challenger cannot score the copy', async () => {
    const c = challenger();
    const outcome = await c.handler({ ...copy, instances: [{ x: 5 }] }, { awsRequestId: 'i' });
    expect(outcome).toMatchObject({ status: 'failed', model: 'm' });
    expect(names(c.metrics)).toEqual(['ShadowErrors=1']);
    expect(c.log.error).toHaveBeenCalledWith(
      'shadow copy not scored',
      expect.objectContaining({ shadowOf: 'req-1' }),
    );
  });

  it('resolves on a malformed copy, naming what is wrong', async () => {
    const c = challenger();
    const outcome = await c.handler({ kind: 'shadow-copy', model: 'm' }, { awsRequestId: 'i' });
    expect(outcome).toEqual({ status: 'failed', model: 'm', reason: 'malformed shadow copy' });
    expect(c.log.error).toHaveBeenCalledWith(
      'shadow copy not scored',
      expect.objectContaining({ issues: expect.arrayContaining([expect.stringMatching(/^requestId: /)]) }),
    );
  });

  it('is sampled by the live request, so a captured request has its copy captured too', () => {
    const sink = createCaptureSink({ sampleRate: 0.5, write: () => undefined });
    const base = {
      time: NOW,
      model: 'm',
      version: 2,
      functionVersion: '9',
      latencyMs: 1,
      instances: [{ x: 0.1 }],
      features: [0.1],
      scores: [0.1],
      labels: [0 as const],
    };
    for (let i = 0; i < 50; i++) {
      const live = sink({ ...base, requestId: `live-${i}` });
      const shadow = sink({
        ...base,
        requestId: `other-invocation-${i}`,
        role: 'shadow',
        shadowOf: `live-${i}`,
      });
      expect('skipped' in shadow).toBe('skipped' in live);
    }
  });
});
