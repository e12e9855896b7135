// The inside of one local Lambda execution environment, run in a worker thread. It loads the
// function's bundle once (cold start) and then runs invocations strictly one at a time, as
// Lambda does; invocations the pool hands over while one runs wait in this environment's
// queue, so the next starts without a round trip to the main thread. Logs go straight to the
// function's log file (the local log group), buffered. Plain JavaScript so it runs under
// node, tsx and vitest alike without a loader.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import Module from 'node:module';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const {
  bundleFile,
  handlerName,
  functionName,
  functionVersion,
  memorySize,
  timeoutMs,
  logFile,
  forwardMarkers = [],
} = workerData;

const flushLogs = installLogSink(logFile, forwardMarkers);

/** @type {(event: unknown, context: object) => Promise<unknown>} */
let handler;
try {
  handler = loadCommonJs(bundleFile)[handlerName];
  if (typeof handler !== 'function')
    throw new Error(`${bundleFile} does not export a function "${handlerName}"`);
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  parentPort.postMessage({ type: 'init-error', error: serializeError(err) });
  // A failed init is not reused: the next invocation starts a fresh environment.
  setImmediate(() => process.exit(1));
}

const queue = [];
let running = false;

// Invocations and answers cross the thread boundary in batches (one message per event-loop
// turn), as JSON text: Lambda payloads are JSON anyway (a Date arrives as a string, undefined
// is dropped, as on AWS), and one string copies faster than a structured clone of the objects.
parentPort.on('message', (message) => {
  if (message.type === 'flush-logs') {
    // Asked before the environment is stopped: nothing logged or answered so far may be lost.
    flushAnswers();
    flushLogs();
    parentPort.postMessage({ type: 'logs-flushed' });
    return;
  }
  if (message.type !== 'invoke') return;
  queue.push(...JSON.parse(message.json));
  if (!running) void drain();
});

// An answer is posted at once when nothing else waits in the queue (a lone request loses no
// time). Under load the queue rarely empties and every invocation spans an event-loop turn
// (onnxruntime's run is deferred by setImmediate), so answers wait for a few more to share one
// message: each message costs the main thread, which also serves the gateway, a wake-up and a
// dispatch. They wait at most ANSWER_HOLD_MS or ANSWERS_PER_MESSAGE answers.
const ANSWERS_PER_MESSAGE = 16;
const ANSWER_HOLD_MS = 1;
let outbox = [];
let answerTimer;
function answer(item) {
  outbox.push(item);
  if (queue.length === 0 || outbox.length >= ANSWERS_PER_MESSAGE) flushAnswers();
  else answerTimer ??= setTimeout(flushAnswers, ANSWER_HOLD_MS);
}
function flushAnswers() {
  if (answerTimer !== undefined) clearTimeout(answerTimer);
  answerTimer = undefined;
  if (outbox.length === 0) return;
  const items = outbox;
  outbox = [];
  parentPort.postMessage({ type: 'answers', json: JSON.stringify(items) });
}

async function drain() {
  running = true;
  while (queue.length > 0) {
    const message = queue.shift();
    try {
      const result = await handler(message.event, contextFor(message));
      answer({ id: message.id, result: result === undefined ? null : result });
    } catch (err) {
      answer({ id: message.id, error: serializeError(err) });
    }
  }
  running = false;
}

function contextFor(message) {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: message.requestId,
    functionName,
    functionVersion,
    memoryLimitInMB: String(memorySize),
    invokedFunctionArn: message.invokedArn,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${functionVersion}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
}

/**
 * Send this environment's stdout and stderr to `file`, batching writes: what a handler logs is
 * kept (flushed at the end of its tick, or FLUSH_SPACING_MS after the previous write, and on
 * exit), without a message to the main thread or a syscall per line. Lines containing one of
 * `markers` are also posted to the main thread, in batches (every FORWARD_INTERVAL_MS or
 * FORWARD_MAX_LINES lines, and on flush): what the platform reads from logs, such as embedded
 * metrics and lines a log subscription delivers.
 * A message per tick would cost the main thread, which also serves the gateway, about one
 * message per request under load. Returns the flush (file and forwarded lines).
 */
function installLogSink(file, markers) {
  // Forwarded lines wait at most this long, so one message carries many requests' lines...
  const FORWARD_INTERVAL_MS = 50;
  // ... or until this many wait (bounds a message, and the main thread's work on it).
  const FORWARD_MAX_LINES = 32;
  // Writes are at least this far apart: under load one write covers many requests' lines,
  // while a quiet function's lines are written at the end of their tick as before.
  const FLUSH_SPACING_MS = 5;
  const fd = openSync(file, 'a');
  let pending = [];
  let scheduled = false;
  let lastFlush = 0;
  let forwarding = [];
  let forwardTimer;
  const forwardNow = () => {
    if (forwardTimer !== undefined) clearTimeout(forwardTimer);
    forwardTimer = undefined;
    if (forwarding.length === 0) return;
    const lines = forwarding;
    forwarding = [];
    parentPort.postMessage({ type: 'log-lines', lines });
  };
  const forward = (text) => {
    for (const line of text.split('\n')) {
      for (const marker of markers)
        if (line.includes(marker)) {
          forwarding.push(line);
          break;
        }
    }
    if (forwarding.length >= FORWARD_MAX_LINES) forwardNow();
    else if (forwarding.length > 0 && forwardTimer === undefined) {
      forwardTimer = setTimeout(forwardNow, FORWARD_INTERVAL_MS);
      forwardTimer.unref();
    }
  };
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    lastFlush = Date.now();
    const text = pending.join('');
    pending = [];
    writeSync(fd, text);
    if (markers.length > 0) forward(text);
  };
  const flushAll = () => {
    flush();
    forwardNow();
  };
  const write = (chunk, encoding, callback) => {
    pending.push(
      typeof chunk === 'string'
        ? chunk
        : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'),
    );
    if (!scheduled) {
      scheduled = true;
      const wait = lastFlush + FLUSH_SPACING_MS - Date.now();
      if (wait > 0) setTimeout(flush, wait);
      else setImmediate(flush);
    }
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') done();
    return true;
  };
  process.stdout.write = write;
  process.stderr.write = write;
  process.on('exit', () => {
    flushAll();
    closeSync(fd);
  });
  return flushAll;
}

/**
 * Load the bundle as CommonJS, as Lambda does for a `.js` handler in a task root without a
 * `"type": "module"` package.json. Plain `require` would treat it as ESM here, because cdk.out
 * sits inside this project, whose package.json says `"type": "module"`.
 */
function loadCommonJs(file) {
  const mod = new Module(file);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  mod._compile(readFileSync(file, 'utf8'), file);
  return mod.exports;
}

/** Lambda's error shape: errorType is the error's name, which Step Functions matches on. */
function serializeError(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: e.name || 'Error',
    errorMessage: e.message,
    trace: (e.stack ?? '').split('\n'),
    ...(e.details === undefined ? {} : { details: e.details }),
  };
}
