// Simulated clients for the CLI's demos: the seed flights, and instances sent through the
// prediction API as real clients send them (HTTPS, the API key, requests of many instances, a few
// at a time). The same calls reach the local platform and AWS.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FlightRecord } from './drift-simulation.ts';
import type { Target } from './target.ts';

/** The seed dataset, as `npm start` trains on it. */
export function seedFlights(): FlightRecord[] {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return JSON.parse(
    readFileSync(join(dirname(entry), '..', 'data', 'flights-20k.json'), 'utf8'),
  ) as FlightRecord[];
}

/** What a run of requests got back. */
export interface SentTraffic {
  /** Request ids of the answered (200) requests. */
  readonly requestIds: string[];
  /** `status message` of every other answer. */
  readonly failures: string[];
  /** Request latencies as the client saw them, in ms, in completion order. */
  readonly latenciesMs: number[];
}

/** POST the instances in requests of `batch`, `concurrency` at a time. */
export async function sendInstances(
  target: Target,
  model: string,
  instances: readonly unknown[],
  options: { readonly batch?: number; readonly concurrency?: number } = {},
): Promise<SentTraffic> {
  const batch = options.batch ?? 100;
  const concurrency = options.concurrency ?? 4;
  const sent: SentTraffic = { requestIds: [], failures: [], latenciesMs: [] };
  const chunks: unknown[][] = [];
  for (let i = 0; i < instances.length; i += batch) chunks.push(instances.slice(i, i + batch));
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < chunks.length; i = next++) {
      const started = performance.now();
      const res = await fetch(`${target.apiUrl}models/${model}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': target.apiKey },
        body: JSON.stringify({ instances: chunks[i] }),
      });
      const body = (await res.json()) as { requestId?: string; error?: { message?: string } };
      sent.latenciesMs.push(performance.now() - started);
      if (res.status === 200 && body.requestId) sent.requestIds.push(body.requestId);
      else sent.failures.push(`${res.status} ${body.error?.message ?? ''}`.trim());
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  return sent;
}
