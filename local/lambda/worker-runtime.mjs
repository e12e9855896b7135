// The inside of one local Lambda execution environment, run in a worker thread. It loads the
// function's bundle once (cold start) and then serves invocations one at a time, as Lambda
// does. Plain JavaScript so it runs under node, tsx and vitest alike without a loader.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const { bundleFile, handlerName, functionName, functionVersion, memorySize, timeoutMs } = workerData;

/** @type {(event: unknown, context: object) => Promise<unknown>} */
let handler;
try {
  const mod = createRequire(bundleFile)(bundleFile);
  handler = mod[handlerName];
  if (typeof handler !== 'function') throw new Error(`${bundleFile} does not export a function "${handlerName}"`);
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  parentPort.postMessage({ type: 'init-error', error: serializeError(err) });
  // A failed init is not reused: the next invocation starts a fresh environment.
  setImmediate(() => process.exit(1));
}

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const deadline = Date.now() + timeoutMs;
  const context = {
    awsRequestId: message.requestId,
    functionName,
    functionVersion,
    memoryLimitInMB: String(memorySize),
    invokedFunctionArn: message.invokedArn,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const result = await handler(message.event, context);
    parentPort.postMessage({ type: 'result', id: message.id, result: result === undefined ? null : result });
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: message.id, error: serializeError(err) });
  }
});

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
