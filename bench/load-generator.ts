// Closed-loop HTTP/1.1 load over raw keep-alive sockets: `concurrency` connections, each
// sending the next request as soon as the previous answer is complete, for a fixed time. The
// request bytes are built once and responses are parsed only as far as framing needs, so the
// generator spends a few microseconds per request and leaves the CPU to the server under test
// (the node:http client costs ~20 µs per request, a large share of a 2-core machine).
// Runs in its own process (see run-load.ts).
import net from 'node:net';

export interface LoadSpec {
  readonly url: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const HEADER_END = Buffer.from('\r\n\r\n');

/** Length of one complete response at the start of `buf`, or 0 when more bytes are needed. */
function completeResponseLength(buf: Buffer): { length: number; status: number } {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return { length: 0, status: 0 };
  const head = buf.subarray(0, end).toString('latin1');
  const status = Number(head.slice(9, 12));
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (!match)
    throw new Error(
      'response without content-length (chunked responses are not supported by this generator)',
    );
  const total = end + 4 + Number(match[1]);
  return buf.length >= total ? { length: total, status } : { length: 0, status: 0 };
}

export async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const target = new URL(spec.url);
  const body = Buffer.from(spec.body);
  const headerLines = Object.entries({
    host: target.host,
    connection: 'keep-alive',
    ...spec.headers,
    'content-length': String(body.length),
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.concat([
    Buffer.from(`POST ${target.pathname}${target.search} HTTP/1.1\r\n${headerLines}\r\n`),
    body,
  ]);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let measuring = false;
  let stop = false;

  const connection = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(Number(target.port), target.hostname);
      socket.setNoDelay(true);
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = () => {
        if (stop) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        for (;;) {
          const { length, status } = completeResponseLength(pending);
          if (length === 0) return;
          pending = pending.subarray(length);
          if (measuring) {
            latencies.push(performance.now() - sentAt);
            if (status < 200 || status >= 300) non2xx++;
          }
          send();
        }
      });
      socket.on('error', () => {
        if (measuring) errors++;
      });
      socket.on('close', () => resolve());
    });

  const connections = Array.from({ length: spec.concurrency }, connection);
  await new Promise((r) => setTimeout(r, spec.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, spec.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(connections);
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    errors,
    non2xx,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
  };
}
