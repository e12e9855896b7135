// A local Lambda function: a pool of worker-thread execution environments, each with the
// function's own environment variables, started on demand (cold start), reused across
// invocations, one invocation at a time each, bounded like reserved concurrency.
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const WORKER_RUNTIME = fileURLToPath(new URL('./worker-runtime.mjs', import.meta.url));

/** Lambda's error payload. */
export interface LambdaErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: string[];
  readonly details?: unknown;
}

/** Error thrown by `invoke` when the handler failed, carrying Lambda's payload. */
export class FunctionError extends Error {
  constructor(readonly payload: LambdaErrorPayload, readonly functionName: string) {
    super(`${functionName}: ${payload.errorType}: ${payload.errorMessage}`);
    this.name = payload.errorType;
  }
}

export interface FunctionConfig {
  readonly logicalId: string;
  /** Local function name (as `Ref` resolves it). */
  readonly functionName: string;
  /** Absolute path of the bundle's entry file (from the cdk.out asset). */
  readonly bundleFile: string;
  /** Export name, e.g. `handler` for `index.handler`. */
  readonly handlerName: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** Folder for this function's log file (the local CloudWatch log group). */
  readonly logDir: string;
  /** Most environments alive at once. @default min(4, cores) */
  readonly maxConcurrency?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One execution environment. */
class Environment {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  busy = false;
  private readonly pending = new Map<string, Pending>();

  constructor(config: FunctionConfig, version: string, log: WriteStream, private readonly onExit: (env: Environment) => void) {
    this.worker = new Worker(WORKER_RUNTIME, {
      env: { ...config.environment },
      workerData: {
        bundleFile: config.bundleFile,
        handlerName: config.handlerName,
        functionName: config.functionName,
        functionVersion: version,
        memorySize: config.memorySize,
        timeoutMs: config.timeoutSeconds * 1000,
      },
      stdout: true,
      stderr: true,
    });
    this.worker.stdout.pipe(log, { end: false });
    this.worker.stderr.pipe(log, { end: false });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', (m: { type: string; error?: LambdaErrorPayload }) => {
        if (m.type === 'ready') resolve();
        else reject(new FunctionError(m.error ?? { errorType: 'Runtime.InitError', errorMessage: 'init failed' }, config.functionName));
      });
      this.worker.once('error', reject);
    });
    this.worker.on('message', (m: { type: string; id?: string; result?: unknown; error?: LambdaErrorPayload }) => {
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p || m.id === undefined) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.type === 'result') p.resolve(m.result);
      else p.reject(new FunctionError(m.error ?? { errorType: 'Error', errorMessage: 'unknown' }, config.functionName));
    });
    this.worker.on('exit', () => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new FunctionError({ errorType: 'Runtime.ExitError', errorMessage: 'execution environment exited' }, config.functionName));
      }
      this.pending.clear();
      this.onExit(this);
    });
  }

  invoke(event: unknown, requestId: string, invokedArn: string, timeoutMs: number, functionName: string): Promise<unknown> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new FunctionError({ errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${timeoutMs / 1000} seconds` }, functionName));
        // Like Lambda, a timed-out environment is not reused.
        void this.worker.terminate();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ type: 'invoke', id, event, requestId, invokedArn });
    });
  }
}

/** A function version's pool of execution environments. */
export class FunctionRuntime {
  private readonly environments: Environment[] = [];
  private readonly waiting: Array<(env: Environment) => void> = [];
  private readonly log: WriteStream;
  private readonly maxConcurrency: number;
  private closed = false;

  constructor(readonly config: FunctionConfig, readonly version = '$LATEST') {
    mkdirSync(config.logDir, { recursive: true });
    this.log = createWriteStream(join(config.logDir, `${config.functionName}.log`), { flags: 'a' });
    this.maxConcurrency = config.maxConcurrency ?? Math.min(4, availableParallelism());
  }

  /** Start `count` environments ahead of traffic (what provisioned concurrency does). */
  async prewarm(count = 1): Promise<void> {
    const started: Promise<void>[] = [];
    while (this.environments.length < Math.min(count, this.maxConcurrency)) started.push(this.spawn().ready);
    await Promise.all(started);
  }

  /** Invoke synchronously (RequestResponse); rejects with FunctionError when the handler fails. */
  async invoke(event: unknown, options: { requestId?: string; invokedArn?: string } = {}): Promise<unknown> {
    if (this.closed) throw new Error(`${this.config.functionName} is shut down`);
    const env = await this.acquire();
    try {
      await env.ready;
      return await env.invoke(
        event,
        options.requestId ?? randomUUID(),
        options.invokedArn ?? `arn:aws:lambda:local:000000000000:function:${this.config.functionName}`,
        this.config.timeoutSeconds * 1000,
        this.config.functionName,
      );
    } finally {
      this.release(env);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.environments.map((e) => e.worker.terminate()));
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  private spawn(): Environment {
    const env = new Environment(this.config, this.version, this.log, (gone) => {
      const index = this.environments.indexOf(gone);
      if (index >= 0) this.environments.splice(index, 1);
    });
    env.ready.catch(() => undefined);
    this.environments.push(env);
    return env;
  }

  private acquire(): Promise<Environment> {
    const idle = this.environments.find((e) => !e.busy);
    const env = idle ?? (this.environments.length < this.maxConcurrency ? this.spawn() : undefined);
    if (env) {
      env.busy = true;
      return Promise.resolve(env);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(env: Environment): void {
    const next = this.waiting.shift();
    if (next && this.environments.includes(env)) {
      next(env);
      return;
    }
    env.busy = false;
    if (next) this.acquire().then(next, () => undefined);
  }
}
