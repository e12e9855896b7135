// Shadow releases in the predict function, both sides. The champion (any live invocation), after
// answering, hands a copy of the request to the `shadow` alias when a shadow of its model is
// active; the challenger (the same code on the `shadow` alias, invoked with the copy) scores it
// with its pinned model version and only writes capture records marked `shadow`. Neither side
// can change a client's answer: every failure is logged and counted (ShadowErrors), never thrown.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { CapturedRequest, CaptureOutcome } from '../lib/capture/capture-sink.ts';
import type { EmfEntry, MetricValue } from '../lib/metrics/emf.ts';
import { DIMENSION, METRICS_NAMESPACE, SHADOW_METRICS } from '../lib/metrics/metric-names.ts';
import type { ShadowConfig, ShadowLookup } from '../lib/releases/shadow-config.ts';
import {
  SHADOW_COPY_KIND,
  type ShadowCopy,
  ShadowCopySchema,
  type ShadowCopySender,
} from '../lib/releases/shadow-copy.ts';
import { ModelName } from '../lib/schemas/model-name.ts';
import { type PredictPorts, scoreRequest } from './core.ts';

/** What the champion needs to send copies. */
export interface ShadowDispatchPorts {
  /** The active shadow, if any (a TTL-cached registry read). */
  readonly lookup: ShadowLookup;
  readonly send: ShadowCopySender;
  /**
   * Longest an answer waits for its copy to be handed over before it is returned; the send goes
   * on either way. 0 (the default) never waits: on Lambda, a copy still in flight when the
   * answer is returned finishes when the environment next runs, or is lost with it, and a lost
   * copy shows in the comparison report as a champion record without a challenger.
   * @default 0
   */
  readonly sendBudgetMs?: number;
}

/** A live request that was answered, as the champion hands it on. */
export interface AnsweredRequest {
  readonly requestId: string;
  readonly model: string;
  /** As the client sent them. */
  readonly instances: readonly Readonly<Record<string, unknown>>[];
  /** Whether the request's capture records were written (only captured requests are comparable). */
  readonly captured: boolean;
}

/** The champion's side, built once per environment. */
export interface ShadowDispatcher {
  /** Start finding the active shadow; call as a request arrives, so the read overlaps scoring. Never rejects. */
  lookAhead(): Promise<ShadowConfig | undefined>;
  /**
   * After answering: send a copy when `shadow` is for this request's model. Resolves when the
   * copy is handed over or the send budget has passed, whichever is first. Never rejects.
   */
  afterAnswer(shadow: Promise<ShadowConfig | undefined>, request: AnsweredRequest): Promise<void>;
}

/** EMF entry of shadow metrics for `model` on this function version. */
const shadowMetrics = (
  model: string,
  functionVersion: string,
  values: MetricValue[],
  properties?: Record<string, unknown>,
): EmfEntry => ({
  namespace: METRICS_NAMESPACE,
  dimensions: { [DIMENSION.model]: model, [DIMENSION.functionVersion]: functionVersion },
  dimensionSets: [[DIMENSION.model], [DIMENSION.model, DIMENSION.functionVersion]],
  metrics: values,
  ...(properties ? { properties } : {}),
});

interface ShadowSideOptions {
  readonly functionVersion: string;
  readonly emitMetrics: (entries: readonly EmfEntry[]) => void;
  readonly clock: () => Date;
}

/** The champion's side of a shadow release. */
export function createShadowDispatcher(
  ports: ShadowDispatchPorts,
  logger: Logger,
  options: ShadowSideOptions,
): ShadowDispatcher {
  const budgetMs = ports.sendBudgetMs ?? 0;
  if (!(Number.isFinite(budgetMs) && budgetMs >= 0))
    throw new RangeError(`the shadow send budget must be a non-negative number of ms, got ${budgetMs}`);
  const { functionVersion, emitMetrics, clock } = options;
  const count = (model: string, values: MetricValue[], properties?: Record<string, unknown>) => {
    try {
      emitMetrics([shadowMetrics(model, functionVersion, values, properties)]);
    } catch (err) {
      logger.warn('shadow metrics not written', { error: err as Error });
    }
  };

  const send = async (shadow: Promise<ShadowConfig | undefined>, request: AnsweredRequest) => {
    const config = await shadow;
    if (!config || config.model !== request.model || !request.captured) return;
    const copy: ShadowCopy = {
      kind: SHADOW_COPY_KIND,
      requestId: request.requestId,
      model: request.model,
      challengerVersion: config.challengerVersion,
      releaseId: config.releaseId,
      instances: request.instances.map((instance) => ({ ...instance })),
      sentAt: clock().toISOString(),
    };
    try {
      await ports.send(copy);
      count(request.model, [{ name: SHADOW_METRICS.copiesSent, value: 1, unit: 'Count' }]);
    } catch (err) {
      logger.warn('shadow copy not sent; the live request was answered', {
        requestId: request.requestId,
        model: request.model,
        releaseId: config.releaseId,
        error: err as Error,
      });
      count(request.model, [{ name: SHADOW_METRICS.errors, value: 1, unit: 'Count' }], {
        shadowStage: 'send',
        releaseId: config.releaseId,
      });
    }
  };

  return {
    lookAhead() {
      return ports.lookup().catch((err: unknown) => {
        logger.warn('shadow configuration not read; no copy for this request', { error: err as Error });
        return undefined;
      });
    },
    afterAnswer(shadow, request) {
      // Nothing here may reject: the caller does not catch, and the answer is already made.
      const sent = send(shadow, request).catch((err: unknown) => {
        logger.warn('shadow dispatch failed', { requestId: request.requestId, error: err as Error });
      });
      if (budgetMs === 0) return Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, budgetMs);
      });
      return Promise.race([sent, budget]).finally(() => clearTimeout(timer));
    },
  };
}

/** What a shadow invocation did; returned to nobody (asynchronous), kept for logs and tests. */
export type ShadowOutcome =
  | {
      readonly status: 'scored';
      readonly model: string;
      readonly version: number;
      readonly rows: number;
      readonly latencyMs: number;
    }
  | { readonly status: 'failed'; readonly model?: string; readonly reason: string };

/** What the challenger needs: the live path's ports and observers. */
export interface ShadowCopyObservers extends ShadowSideOptions {
  readonly capture?: (request: CapturedRequest) => CaptureOutcome;
}

/** A copy for a version other than the one this function version serves: the alias and config disagree. */
export class ShadowMisrouted extends Error {
  override readonly name = 'ShadowMisrouted';
}

/**
 * The challenger's side: score a copy with this function version's model version and capture
 * the answer as `shadow`. Resolves with an outcome, never rejects: an error of an asynchronous
 * invocation would be retried by Lambda and counted in the function's AWS/Lambda Errors, which
 * the served path's alarms watch.
 */
export function createShadowCopyHandler(ports: PredictPorts, logger: Logger, observers: ShadowCopyObservers) {
  const { functionVersion, emitMetrics, clock } = observers;
  const count = (model: string, values: MetricValue[], properties?: Record<string, unknown>) => {
    try {
      emitMetrics([shadowMetrics(model, functionVersion, values, properties)]);
    } catch (err) {
      logger.warn('shadow metrics not written', { error: err as Error });
    }
  };
  const fail = (model: string | undefined, reason: string, data: Record<string, unknown>): ShadowOutcome => {
    logger.error('shadow copy not scored', { model, reason, ...data });
    if (model !== undefined && ModelName.safeParse(model).success)
      count(model, [{ name: SHADOW_METRICS.errors, value: 1, unit: 'Count' }], {
        shadowStage: 'score',
        reason,
      });
    return { status: 'failed', ...(model === undefined ? {} : { model }), reason };
  };

  return async (event: unknown, context: Pick<Context, 'awsRequestId'>): Promise<ShadowOutcome> => {
    const started = performance.now();
    const parsed = ShadowCopySchema.safeParse(event);
    if (!parsed.success) {
      const model = (event as { model?: unknown } | null)?.model;
      return fail(typeof model === 'string' ? model : undefined, 'malformed shadow copy', {
        issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      });
    }
    const copy = parsed.data;
    const about = { shadowOf: copy.requestId, releaseId: copy.releaseId, invocationId: context.awsRequestId };
    try {
      const serving = await ports.resolveVersion(copy.model);
      if (serving.version !== copy.challengerVersion)
        throw new ShadowMisrouted(
          `function version ${functionVersion} serves ${copy.model} v${serving.version}, the shadow expects v${copy.challengerVersion}`,
        );
      const scored = await scoreRequest(
        { kind: 'instances', model: copy.model, instances: copy.instances },
        ports,
      );
      const latencyMs = performance.now() - started;
      const { result } = scored;
      const values: MetricValue[] = [
        { name: SHADOW_METRICS.predictions, value: result.predictions.length, unit: 'Count' },
        { name: SHADOW_METRICS.latency, value: latencyMs, unit: 'Milliseconds' },
        { name: SHADOW_METRICS.errors, value: 0, unit: 'Count' },
      ];
      const outcome = observers.capture?.({
        requestId: context.awsRequestId,
        time: clock(),
        model: result.model,
        version: result.version,
        functionVersion,
        latencyMs,
        instances: scored.instances,
        features: scored.features,
        scores: scored.scores,
        labels: result.predictions.map((p) => p.label),
        role: 'shadow',
        shadowOf: copy.requestId,
      });
      if (outcome && 'error' in outcome) {
        // Without its capture records a shadow answer is invisible: it failed as far as anyone can tell.
        values[2] = { name: SHADOW_METRICS.errors, value: 1, unit: 'Count' };
        logger.warn('shadow capture failed', { ...about, error: outcome.error });
      }
      count(copy.model, values, { shadowStage: 'score' });
      logger.info('shadow prediction', {
        ...about,
        model: copy.model,
        modelVersion: result.version,
        rows: result.predictions.length,
        latencyMs,
        queuedMs: clock().getTime() - Date.parse(copy.sentAt),
      });
      return {
        status: 'scored',
        model: copy.model,
        version: result.version,
        rows: result.predictions.length,
        latencyMs,
      };
    } catch (err) {
      return fail(copy.model, (err as Error).message, { ...about, error: err as Error });
    }
  };
}
