// Reading an incoming request without trusting it: its target, its Host, its headers and its
// body. Nothing here throws on hostile input; callers get `undefined` and answer 4xx.
import type { IncomingMessage } from 'node:http';

/** Host names a loopback listener answers to, as they appear in a `Host` header. */
export const LOOPBACK_HOSTNAMES: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The request target as a URL, or undefined unless it is an origin-form path (`/…`, not `//…`,
 * not `*`, not an absolute URL) that parses. The host check catches `/\\evil/…`, which the URL
 * parser reads as a network path like `//evil/…`.
 */
export function parseTarget(target: string | undefined): URL | undefined {
  if (target?.[0] !== '/' || target[1] === '/') return undefined;
  try {
    const url = new URL(target, TARGET_BASE);
    return url.host === 'local' ? url : undefined;
  } catch {
    return undefined;
  }
}
const TARGET_BASE = 'http://local';

/**
 * Accepts `Host` headers naming this listener: one of `hostnames` with the listener's port
 * (or bare on port 80). Anything else is a browser sent here by a rebound DNS name.
 */
export function hostChecker(hostnames: readonly string[]): (req: IncomingMessage) => boolean {
  let forPort = -1;
  let allowed = new Set<string>();
  return (req) => {
    const host = req.headers.host;
    const port = req.socket.localPort;
    if (host === undefined || port === undefined) return false;
    if (port !== forPort) {
      forPort = port;
      allowed = new Set(hostnames.flatMap((h) => (port === 80 ? [`${h}:${port}`, h] : [`${h}:${port}`])));
    }
    return allowed.has(host) || allowed.has(host.toLowerCase());
  };
}

/** `decodeURIComponent`, or undefined for bad percent-encoding. */
export function safeDecode(value: string): string | undefined {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Read the body, or undefined once it exceeds `limit` (the rest is discarded). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The request headers as a proxy event carries them: comma-joined, and as lists. */
export function proxyHeaders(req: IncomingMessage): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const all = req.headers;
  for (const k in all) {
    const v = all[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      headers[k] = v.join(',');
      multiValueHeaders[k] = v;
    } else {
      headers[k] = v;
      multiValueHeaders[k] = [v];
    }
  }
  return { headers, multiValueHeaders };
}
