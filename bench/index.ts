// `npm run bench`: the local gateway against a bare node:http server running the same model,
// at 1, 16 and 64 connections, in one run; then the handler's in-process overhead over a bare
// session.run. Prints ratios (machines here are shared and noisy: compare within a run).
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbModelRegistry } from '../functions/lib/registry/dynamodb-registry.ts';
import { parseS3Uri } from '../functions/lib/storage/s3-layout.ts';
import { bootstrapSeedModel, platformStack, SEED } from '../local/bootstrap.ts';
import { localDynamoDbClient } from '../local/emulators/dynamodb.ts';
import { localS3Client } from '../local/emulators/s3.ts';
import { startPlatform } from '../local/platform.ts';
import { ensureSynth } from '../local/synth.ts';
import type { LoadResult, LoadSpec } from './load-generator.ts';

// Node 20 is supported; the SDK's notice about its future end of support would only add noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const projectDir = fileURLToPath(new URL('..', import.meta.url));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const json = process.argv.includes('--json');
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const say = (line: string) => !json && console.log(line);
if (process.argv.includes('training')) {
  // `npm run bench -- training`: the trainers' throughput instead of the gateway's.
  await (await import('./training.ts')).runTrainingBench({ json });
  process.exit(0);
}

if (process.argv.includes('batch')) {
  // `npm run bench -- batch`: batch scoring through the local runtime against a bare loop.
  await (await import('./batch.ts')).runBatchBench({ json });
  process.exit(0);
}

if (process.argv.includes('drift')) {
  // `npm run bench -- drift`: the drift check over 1M rows × 20 features against numpy's PSI.
  await (await import('./drift.ts')).runDriftBench({ json });
  process.exit();
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', here('./run-load.ts'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as LoadResult)
        : reject(new Error(`load generator exited ${code}`)),
    );
  });
}

function startBareServer(modelFile: string): Promise<{ port: number; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', here('./bare-server.ts'), modelFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), child }));
    child.once('exit', (code) => reject(new Error(`bare server exited ${code}`)));
  });
}

function handlerOverhead(
  modelFile: string,
): Promise<{ bareUs: number; handlerUs: number; overheadUs: number; iterations: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(here('./handler-overhead.ts'), [modelFile], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) => code !== 0 && reject(new Error(`handler bench exited ${code}`)));
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'mlops-bench-'));
await ensureSynth(projectDir, join(projectDir, 'cdk.out'), say);
// The throttle check runs on every request, with limits above what this machine can send.
const platform = await startPlatform({
  cdkOut: join(projectDir, 'cdk.out'),
  dataDir,
  port: 0,
  throttleOverride: { rateLimit: 1e9, burstLimit: 1e9 },
});
let bare: ChildProcess | undefined;
try {
  await bootstrapSeedModel(platform, say);
  const stack = platformStack(platform);
  const registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(localDynamoDbClient(platform.endpoints.dynamodb)),
    stack.outputs.RegistryTableName ?? '',
  );
  const production = await registry.getProductionVersion(SEED.model);
  if (!production) throw new Error('no Production model after bootstrap');
  const { bucket, key } = parseS3Uri(production.artifactUri);
  const object = await localS3Client(platform.endpoints.s3).send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
  );
  const modelFile = join(dataDir, 'model.onnx');
  writeFileSync(modelFile, await object.Body!.transformToByteArray());

  const predictFn = stack.outputs.PredictFunctionName ?? '';
  await platform.lambda.prewarm(`${predictFn}:live`, 4);
  const server = await startBareServer(modelFile);
  bare = server.child;

  const body = JSON.stringify({
    instances: [{ date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' }],
  });
  const headers = { 'content-type': 'application/json' };
  const rows: Array<{
    concurrency: number;
    gateway: LoadResult;
    bare: LoadResult;
    ratio: number;
    cpuUsPerRequest: { gateway: number; bare: number };
  }> = [];
  // CPU time of a whole process (all its threads), in µs: the platform runs in this process.
  const bareCpu = async () => Number(await (await fetch(`http://127.0.0.1:${server.port}/cpu`)).text());
  const ownCpu = () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  say(`\nPOST /predict, one row per request, ${durationMs / 1000} s per run after 1 s warm-up\n`);
  say(
    'conns   gateway rps   p50 ms   p99 ms  |  bare rps   p50 ms   p99 ms  |  ratio  |  CPU µs/req gateway  bare',
  );
  for (const concurrency of [1, 16, 64]) {
    const common = { body, concurrency, durationMs, warmupMs: 1_000 };
    const gatewayCpu0 = ownCpu();
    const gateway = await runLoad({
      ...common,
      url: `${platform.url}models/${SEED.model}/predict`,
      headers: { ...headers, 'x-api-key': platform.apiKey },
    });
    const gatewayCpu = ownCpu() - gatewayCpu0;
    const bareCpu0 = await bareCpu();
    const bareResult = await runLoad({ ...common, url: `http://127.0.0.1:${server.port}/predict`, headers });
    const bareCpuUsed = (await bareCpu()) - bareCpu0;
    // Requests served over the whole run (warm-up included), as the CPU was measured.
    const served = (r: LoadResult) => r.rps * (r.seconds + common.warmupMs / 1000);
    const cpuUsPerRequest = { gateway: gatewayCpu / served(gateway), bare: bareCpuUsed / served(bareResult) };
    const failed = gateway.non2xx + gateway.errors + bareResult.non2xx + bareResult.errors;
    if (failed > 0)
      throw new Error(
        `${failed} requests failed at ${concurrency} connections: the comparison would be meaningless`,
      );
    const ratio = gateway.rps / bareResult.rps;
    rows.push({ concurrency, gateway, bare: bareResult, ratio, cpuUsPerRequest });
    const f = (n: number, w: number, d = 0) => n.toFixed(d).padStart(w);
    say(
      `${f(concurrency, 5)}   ${f(gateway.rps, 11)}  ${f(gateway.p50Ms, 7, 2)}  ${f(gateway.p99Ms, 7, 2)}  |  ${f(bareResult.rps, 8)}  ${f(bareResult.p50Ms, 7, 2)}  ${f(bareResult.p99Ms, 7, 2)}  |  ${ratio.toFixed(2)}×  |  ${f(cpuUsPerRequest.gateway, 18)}  ${f(cpuUsPerRequest.bare, 4)}`,
    );
  }
  const overhead = await handlerOverhead(modelFile);
  const at64 = rows.find((r) => r.concurrency === 64)?.ratio ?? 0;
  if (json) console.log(JSON.stringify({ online: rows, handler: overhead }, null, 2));
  else {
    console.log(
      `\nhandler overhead: ${overhead.handlerUs.toFixed(1)} µs per request vs ${overhead.bareUs.toFixed(1)} µs bare session.run → ${overhead.overheadUs.toFixed(1)} µs overhead (goal < 100 µs)`,
    );
    console.log(
      `gateway / bare at 64 connections: ${at64.toFixed(2)}× (goal ≥ 0.70×) ${at64 >= 0.7 ? 'MET' : 'NOT MET'}`,
    );
  }
} finally {
  bare?.kill();
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
