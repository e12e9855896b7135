// The baseline: a bare node:http server running the same ONNX artifact with the same feature
// encoding, with no validation, logging, gateway or worker hop. Child-process entry; prints
// its port when ready.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';
import { getFeatureSet } from '../functions/lib/features/index.ts';
import { readModelMetadata } from '../functions/lib/onnx/model-metadata.ts';

const bytes = readFileSync(process.argv[2] ?? '');
const metadata = readModelMetadata(bytes);
const featureSet = getFeatureSet(metadata['mlops.featureSet'] ?? '');
if (!featureSet) throw new Error('artifact names an unknown feature set');
const encoding: unknown = JSON.parse(metadata['mlops.encoding'] ?? 'null');
const width = featureSet.featureNames(encoding).length;
const session = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
});

const server = http.createServer((req, res) => {
  // The benchmark reads this process's CPU time to compare cost per request.
  if (req.method === 'GET' && req.url === '/cpu') {
    const { user, system } = process.cpuUsage();
    res.end(String(user + system));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const { instances } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { instances: unknown[] };
    const out = await session.run({
      features: new ort.Tensor('float32', featureSet.encode(instances, encoding), [instances.length, width]),
    });
    const p = out.probabilities?.data as Float32Array;
    const predictions = instances.map((_, i) => ({
      score: p[2 * i + 1],
      label: (p[2 * i + 1] ?? 0) >= 0.5 ? 1 : 0,
    }));
    const body = JSON.stringify({ predictions });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
