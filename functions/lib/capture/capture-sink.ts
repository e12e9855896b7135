// Writes capture records as JSON log lines. On AWS the function's log group has a subscription
// filter feeding a Firehose delivery stream that partitions them into S3 (infra/constructs/
// inference-capture.ts); locally the runtime does the same from the same template. A log write
// neither waits on the network nor is lost when Lambda freezes the environment, which is why
// capture goes through the log rather than an SDK call on the request path.
import { CAPTURE_RECORD_KIND, type CaptureRecord, type CaptureRole } from './capture-record.ts';

/** One answered request, as the predict function saw it. */
export interface CapturedRequest {
  readonly requestId: string;
  readonly time: Date;
  readonly model: string;
  readonly version: number;
  readonly functionVersion: string;
  readonly latencyMs: number;
  /** The validated instances. */
  readonly instances: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Encoded features, row-major, `features.length / instances.length` per row. */
  readonly features: ArrayLike<number>;
  readonly scores: ArrayLike<number>;
  readonly labels: ArrayLike<0 | 1>;
  /** @default 'live' */
  readonly role?: CaptureRole;
  /** A shadow's live request id: it decides the sample, so a sampled request's copy is captured too. */
  readonly shadowOf?: string;
}

export interface CaptureSinkOptions {
  /** Share of requests captured, 0–1 (0 turns capture off). Sampled by request, all of its instances or none. */
  readonly sampleRate: number;
  /** Where the lines go: stdout on Lambda. Throwing is allowed: `capture` reports it, never rethrows. */
  readonly write: (text: string) => void;
}

/** Whether the request with this id is in the sample: a hash, so a retried request is sampled alike. */
export function inSample(requestId: string, sampleRate: number): boolean {
  if (sampleRate >= 1) return true;
  if (sampleRate <= 0) return false;
  // FNV-1a, 32 bits: spreads similar ids evenly; no crypto needed.
  let hash = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) {
    hash ^= requestId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32 < sampleRate;
}

/** The capture records of one request, one per instance. */
export function captureRecords(request: CapturedRequest, sampleRate: number): CaptureRecord[] {
  const rows = request.instances.length;
  const width = rows === 0 ? 0 : request.features.length / rows;
  const time = request.time.toISOString();
  return request.instances.map((input, index) => ({
    kind: CAPTURE_RECORD_KIND,
    time,
    requestId: request.requestId,
    index,
    model: request.model,
    version: request.version,
    functionVersion: request.functionVersion,
    latencyMs: request.latencyMs,
    input: { ...input },
    features: featureRow(request.features, index, width),
    score: request.scores[index] ?? Number.NaN,
    label: request.labels[index] ?? 0,
    sampleRate,
    // Live records stay as they were before shadows: no role field.
    ...(request.role === 'shadow' ? { role: 'shadow' as const } : {}),
    ...(request.shadowOf === undefined ? {} : { shadowOf: request.shadowOf }),
  }));
}

/**
 * Row `index` of a row-major matrix, as a plain array: a loop of pushes, which builds a packed
 * array that JSON.stringify takes its fast path on (`Array.from` with a mapper costs µs per row,
 * and a preallocated `new Array(n)` is holey, which JSON.stringify serializes twice as slowly).
 */
function featureRow(features: ArrayLike<number>, index: number, width: number): number[] {
  const row: number[] = [];
  for (let j = 0; j < width; j++) row.push(features[index * width + j] ?? Number.NaN);
  return row;
}

export type CaptureOutcome =
  | { readonly captured: number }
  | { readonly captured: 0; readonly skipped: 'not-sampled' }
  | { readonly captured: 0; readonly error: Error };

/**
 * Capture one request. Never throws: a failure is returned as `{ error }` for the caller to log
 * and count, and the prediction is answered all the same.
 */
export function createCaptureSink(options: CaptureSinkOptions): (request: CapturedRequest) => CaptureOutcome {
  if (!(options.sampleRate >= 0 && options.sampleRate <= 1))
    throw new RangeError(`capture sample rate must be between 0 and 1, got ${options.sampleRate}`);
  return (request) => {
    if (!inSample(request.shadowOf ?? request.requestId, options.sampleRate))
      return { captured: 0, skipped: 'not-sampled' };
    try {
      const records = captureRecords(request, options.sampleRate);
      if (records.length === 0) return { captured: 0 };
      options.write(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
      return { captured: records.length };
    } catch (err) {
      return { captured: 0, error: err instanceof Error ? err : new Error(String(err)) };
    }
  };
}
