// A local Lambda function: a pool of worker-thread execution environments, each with the
// function's own environment variables, started on demand (cold start), reused across
// invocations, one invocation at a time each, at most `maxConcurrency` of them.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
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
  constructor(
    readonly payload: LambdaErrorPayload,
    readonly functionName: string,
  ) {
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
  /** The function's own environment variables (its configuration's Environment.Variables). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Variables the platform sets for every version of the function (SDK endpoints and settings,
   * runtime variables); they win over `environment`, as Lambda's reserved variables do.
   */
  readonly platformEnvironment?: Readonly<Record<string, string>>;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** Folder for this function's log file (the local CloudWatch log group). */
  readonly logDir: string;
  /** Most environments alive at once. @default min(4, cores − 1), at least 1 */
  readonly maxConcurrency?: number;
  /** An environment idle this long is shut down (Lambda scales to zero). @default 10 minutes */
  readonly idleTimeoutMs?: number;
}

/**
 * Where an environment's log lines go besides its log file: lines containing one of `markers`
 * are handed to `onLines` (as CloudWatch Logs hands them to embedded metrics and subscriptions).
 * Markers are read when an environment starts.
 */
export interface LogForwarding {
  readonly markers: readonly string[];
  onLines(
    lines: readonly string[],
    source: { readonly functionName: string; readonly version: string },
  ): void;
}

/** How long a stopping environment may take to hand over its buffered log lines. */
const LOG_FLUSH_TIMEOUT_MS = 1_000;

/** An invocation as handed to an environment. */
interface InvocationRequest {
  readonly event: unknown;
  readonly requestId: string;
  readonly invokedArn: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  /** When it times out (`performance.now()` ms). */
  deadline: number;
  timeoutMs: number;
  functionName: string;
  request: InvocationRequest;
}

/** Hands an invocation that never started back to the pool (its environment was retired). */
type Requeue = (
  request: InvocationRequest,
  resolve: (value: unknown) => void,
  reject: (err: Error) => void,
) => void;

/** One execution environment. */
class Environment {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  /** Invocations handed to this environment and not answered yet (it runs them one by one). */
  inFlight = 0;
  /** When the environment last took an invocation (for idle shutdown). */
  lastUsed = Date.now();
  /** By invocation number (this environment's own sequence: it only pairs answers with callers). */
  private readonly pending = new Map<number, Pending>();
  private sequence = 0;
  /**
   * One timer per environment for the earliest deadline, instead of one per invocation: under
   * load invocations come and go thousands of times a second and a timer each costs the main
   * thread an allocation and two list updates, while a deadline is only ever seconds away.
   */
  private watchdog: NodeJS.Timeout | undefined;
  private watchdogAt = Number.POSITIVE_INFINITY;

  constructor(
    config: FunctionConfig,
    version: string,
    private readonly onExit: (env: Environment) => void,
    private readonly requeue: Requeue,
    logForwarding?: LogForwarding,
  ) {
    this.worker = new Worker(WORKER_RUNTIME, {
      env: {
        ...config.environment,
        ...config.platformEnvironment,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memorySize),
        AWS_LAMBDA_FUNCTION_VERSION: version,
      },
      workerData: {
        bundleFile: config.bundleFile,
        handlerName: config.handlerName,
        functionName: config.functionName,
        functionVersion: version,
        memorySize: config.memorySize,
        timeoutMs: config.timeoutSeconds * 1000,
        logFile: join(config.logDir, `${config.functionName}.log`),
        forwardMarkers: [...(logForwarding?.markers ?? [])],
      },
    });
    if (logForwarding) {
      const source = { functionName: config.functionName, version };
      this.worker.on('message', (m: { type: string; lines?: string[] }) => {
        if (m.type === 'log-lines' && m.lines) logForwarding.onLines(m.lines, source);
      });
    }
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', (m: { type: string; error?: LambdaErrorPayload }) => {
        if (m.type === 'ready') resolve();
        else
          reject(
            new FunctionError(
              m.error ?? { errorType: 'Runtime.InitError', errorMessage: 'init failed' },
              config.functionName,
            ),
          );
      });
      this.worker.once('error', reject);
    });
    this.worker.on('message', (m: { type: string; json?: string }) => {
      if (m.type !== 'answers') return;
      const items = JSON.parse(m.json ?? '[]') as Array<{
        id: number;
        result?: unknown;
        error?: LambdaErrorPayload;
      }>;
      for (const item of items) {
        const p = this.pending.get(item.id);
        if (!p) continue;
        this.pending.delete(item.id);
        this.inFlight--;
        if (item.error) p.reject(new FunctionError(item.error, config.functionName));
        else p.resolve(item.result);
      }
      if (this.pending.size === 0) this.unwatch();
    });
    this.worker.on('exit', () => {
      this.unwatch();
      for (const p of this.pending.values()) {
        p.reject(
          new FunctionError(
            { errorType: 'Runtime.ExitError', errorMessage: 'execution environment exited' },
            config.functionName,
          ),
        );
      }
      this.pending.clear();
      this.inFlight = 0;
      this.onExit(this);
    });
  }

  /**
   * Take this environment out of the pool at once, then stop its thread. Invocations waiting
   * in its queue never started: they go back to the pool instead of failing with it.
   */
  retire(): void {
    this.onExit(this);
    this.unwatch();
    for (const p of this.pending.values()) this.requeue(p.request, p.resolve, p.reject);
    this.pending.clear();
    this.inFlight = 0;
    void this.stop();
  }

  /** Stop the thread once it has handed over its buffered log lines (or a second has passed). */
  async stop(): Promise<void> {
    await new Promise<void>((done) => {
      const timer = setTimeout(done, LOG_FLUSH_TIMEOUT_MS);
      const onMessage = (m: { type: string }) => {
        if (m.type !== 'logs-flushed') return;
        clearTimeout(timer);
        this.worker.off('message', onMessage);
        done();
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      try {
        this.worker.postMessage({ type: 'flush-logs' });
      } catch {
        clearTimeout(timer);
        done();
      }
    });
    await this.worker.terminate();
  }

  invoke(
    event: unknown,
    requestId: string,
    invokedArn: string,
    timeoutMs: number,
    functionName: string,
  ): Promise<unknown> {
    const id = ++this.sequence;
    // Invocations queued ahead of this one run first, each within its own timeout.
    const deadline = performance.now() + timeoutMs * (this.inFlight + 1);
    this.inFlight++;
    this.lastUsed = Date.now();
    return new Promise((resolve, reject) => {
      const request = { event, requestId, invokedArn };
      this.pending.set(id, { resolve, reject, deadline, timeoutMs, functionName, request });
      this.watch(deadline);
      this.outbox.push({ id, event, requestId, invokedArn });
      // Everything dispatched during this event-loop turn crosses to the worker in one message.
      if (this.outbox.length === 1) setImmediate(this.flush);
    });
  }

  /** Make sure the watchdog fires by `deadline`. */
  private watch(deadline: number): void {
    if (this.watchdog !== undefined && this.watchdogAt <= deadline) return;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdogAt = deadline;
    this.watchdog = setTimeout(this.checkDeadlines, Math.max(0, deadline - performance.now()));
  }

  private unwatch(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.watchdogAt = Number.POSITIVE_INFINITY;
  }

  /** Time out the invocation whose deadline passed first, if any; else wait for the next deadline. */
  private readonly checkDeadlines = () => {
    this.watchdog = undefined;
    this.watchdogAt = Number.POSITIVE_INFINITY;
    // Timers run on the event loop's millisecond clock: a deadline within 1 ms counts as passed.
    const now = performance.now() + 1;
    let expired: [number, Pending] | undefined;
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.pending) {
      const { deadline } = entry[1];
      if (deadline <= now) {
        if (!expired || deadline < expired[1].deadline) expired = entry;
      } else if (deadline < next) next = deadline;
    }
    if (!expired) {
      if (next !== Number.POSITIVE_INFINITY) this.watch(next);
      return;
    }
    const [id, p] = expired;
    this.pending.delete(id);
    this.inFlight--;
    p.reject(
      new FunctionError(
        {
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${p.timeoutMs / 1000} seconds`,
        },
        p.functionName,
      ),
    );
    // Like Lambda, a timed-out environment is not reused.
    this.retire();
  };

  private outbox: Array<{ id: number; event: unknown; requestId: string; invokedArn: string }> = [];
  private readonly flush = () => {
    const items = this.outbox;
    this.outbox = [];
    this.worker.postMessage({ type: 'invoke', json: JSON.stringify(items) });
  };
}

/**
 * A function version's execution environments. An invocation goes to an idle environment,
 * else to a new one (a cold start) while under `maxConcurrency`, else it waits in the least
 * busy environment's queue: each environment still runs one invocation at a time.
 */
export class FunctionRuntime {
  private readonly environments: Environment[] = [];
  private readonly maxConcurrency: number;
  private closed = false;
  /** Invocations taken and not answered yet (including those waiting for a cold start). */
  private active = 0;
  private drained: (() => void) | undefined;
  private readonly reaper: NodeJS.Timeout;

  constructor(
    readonly config: FunctionConfig,
    readonly version = '$LATEST',
    private readonly logForwarding?: LogForwarding,
  ) {
    mkdirSync(config.logDir, { recursive: true });
    // One core is left to the main thread, which serves every request too (the gateway, the
    // emulators, the log subscriptions and metrics): on a 2-core machine a second environment
    // only makes the threads take turns, and each request then costs more CPU, not less.
    this.maxConcurrency = config.maxConcurrency ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    const idleTimeoutMs = config.idleTimeoutMs ?? 10 * 60_000;
    this.reaper = setInterval(
      () => {
        for (const env of [...this.environments]) {
          if (env.inFlight === 0 && Date.now() - env.lastUsed > idleTimeoutMs) env.retire();
        }
      },
      Math.min(60_000, idleTimeoutMs),
    ).unref();
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
    this.active++;
    try {
      const env = this.pick();
      await env.ready;
      return await env.invoke(
        event,
        options.requestId ?? randomUUID(),
        options.invokedArn ?? `arn:aws:lambda:local:000000000000:function:${this.config.functionName}`,
        this.config.timeoutSeconds * 1000,
        this.config.functionName,
      );
    } finally {
      if (--this.active === 0) this.drained?.();
    }
  }

  /**
   * Let the invocations already taken finish, then shut down (a configuration replaced by a
   * newer one: like Lambda, the old environments finish their work and are not reused). The
   * caller must have stopped sending new invocations here.
   */
  async drain(): Promise<void> {
    if (this.active > 0) await new Promise<void>((done) => (this.drained = done));
    await this.close();
  }

  /** Environments alive now (the function's current concurrency). */
  get size(): number {
    return this.environments.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    await Promise.all(this.environments.map((e) => e.stop()));
  }

  private pick(): Environment {
    let best: Environment | undefined;
    for (const env of this.environments) if (!best || env.inFlight < best.inFlight) best = env;
    if (best && best.inFlight === 0) return best;
    if (this.environments.length < this.maxConcurrency) return this.spawn();
    if (!best) throw new Error(`${this.config.functionName}: no execution environment available`);
    return best;
  }

  private spawn(): Environment {
    const env = new Environment(
      this.config,
      this.version,
      (gone) => {
        const index = this.environments.indexOf(gone);
        if (index >= 0) this.environments.splice(index, 1);
      },
      (request, resolve, reject) => {
        this.invoke(request.event, { requestId: request.requestId, invokedArn: request.invokedArn }).then(
          resolve,
          reject,
        );
      },
      this.logForwarding,
    );
    env.ready.catch(() => undefined);
    this.environments.push(env);
    return env;
  }
}
