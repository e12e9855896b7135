// `npm run bench -- batch`: end-to-end batch scoring of 1M rows through the local runtime (drop
// the file under incoming/, wait for _SUCCESS: EventBridge routing, the state machine, the
// Distributed Map's reader and every ScoreBatch invocation, part writes, Finalize) against a bare
// loop that reads the same rows and runs the same ONNX session in the same batch size, in the
// same run. Prints the ratio (goal ≥ 0.5×) and where the local runtime's extra time goes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ManifestSchema } from '../functions/lib/batch/batch-output.ts';
import { decodeInput, readItems } from '../functions/lib/batch/input-file.ts';
import { scoreItems } from '../functions/lib/batch/score-rows.ts';
import { DynamoDbModelRegistry } from '../functions/lib/registry/dynamodb-registry.ts';
import { createOnnxModelLoader } from '../functions/lib/serving/onnx-model-loader.ts';
import { batchOutputKeys, parseS3Uri } from '../functions/lib/storage/s3-layout.ts';
import { recipeFor } from '../functions/lib/training/recipes.ts';
import { bootstrapSeedModel, platformStack, SEED } from '../local/bootstrap.ts';
import { localDynamoDbClient } from '../local/emulators/dynamodb.ts';
import { localS3Client } from '../local/emulators/s3.ts';
import { startPlatform } from '../local/platform.ts';
import { ensureSynth } from '../local/synth.ts';

const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 1_000_000);
const BATCH = 10_000; // the stack's BATCH_ROWS default: the bare loop uses the same batch size

export async function runBatchBench({ json }: { json: boolean }): Promise<void> {
  const say = (line: string) => !json && console.log(line);
  const projectDir = fileURLToPath(new URL('..', import.meta.url));
  const cdkOut = join(projectDir, 'cdk.out');
  await ensureSynth(projectDir, cdkOut, say);
  const dataDir = mkdtempSync(join(tmpdir(), 'mlops-bench-batch-'));
  const platform = await startPlatform({ cdkOut, dataDir, port: 0 });
  try {
    await bootstrapSeedModel(platform, () => undefined);
    const outputs = platformStack(platform).outputs;
    const bucket = outputs.DataBucketName ?? '';
    const s3 = localS3Client(platform.endpoints.s3);
    const registry = new DynamoDbModelRegistry(
      DynamoDBDocumentClient.from(localDynamoDbClient(platform.endpoints.dynamodb)),
      outputs.RegistryTableName ?? '',
    );
    const production = await registry.getProductionVersion(SEED.model);
    if (!production) throw new Error('no Production model');

    // 1M rows cycled from flights-20k, each with an id, as JSON Lines.
    const flights = JSON.parse(
      readFileSync(join(projectDir, 'node_modules/vega-datasets/data/flights-20k.json'), 'utf8'),
    ) as Array<Record<string, unknown>>;
    const lines: string[] = [];
    for (let i = 0; i < ROWS; i++) {
      const { delay: _delay, ...row } = flights[i % flights.length] ?? {};
      lines.push(JSON.stringify({ id: `r${i}`, ...row }));
    }
    const body = Buffer.from(`${lines.join('\n')}\n`);
    say(`input: ${ROWS.toLocaleString('en-US')} rows, ${(body.length / 2 ** 20).toFixed(1)} MiB JSON Lines`);

    // Bare loop: same reader, same validation and encoding, same session, same batch size.
    const model = await createOnnxModelLoader(async (uri) => {
      const { bucket: b, key } = parseS3Uri(uri);
      const out = await s3.send(new GetObjectCommand({ Bucket: b, Key: key }));
      return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    })(production);
    const recipe = recipeFor(production.featureSet);
    const bareStart = performance.now();
    const rows = readItems(decodeInput(body), 'jsonl');
    let scored = 0;
    for (let start = 0; start < rows.length; start += BATCH) {
      const items = rows.slice(start, start + BATCH).map((row, i) => ({ index: start + i, row }));
      scored += (await scoreItems(items, model, { recipe, format: 'jsonl' })).scored.length;
    }
    const bareMs = performance.now() - bareStart;
    say(
      `bare loop:      ${(bareMs / 1000).toFixed(2)} s → ${Math.round((scored / bareMs) * 1000).toLocaleString('en-US')} rows/s`,
    );

    // Through the platform: drop the file, wait for _SUCCESS.
    const key = `incoming/${SEED.model}/bench-${ROWS}.jsonl`;
    const e2eStart = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const dt = new Date().toISOString().slice(0, 10);
    const keys = batchOutputKeys({
      model: SEED.model,
      version: production.version,
      dt,
      source: `bench-${ROWS}.jsonl`,
    });
    let manifest: ReturnType<typeof ManifestSchema.parse> | undefined;
    while (!manifest) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys.success }));
        manifest = ManifestSchema.parse(JSON.parse((await out.Body?.transformToString()) ?? ''));
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const e2eMs = performance.now() - e2eStart;
    const ratio = bareMs / e2eMs;
    say(
      `local runtime:  ${(e2eMs / 1000).toFixed(2)} s → ${Math.round((manifest.rows.out / e2eMs) * 1000).toLocaleString('en-US')} rows/s ` +
        `(${manifest.parts.length} parts, ${manifest.rows.rejected} rejected)`,
    );
    say(`ratio local / bare: ${ratio.toFixed(2)}× (goal ≥ 0.50×) ${ratio >= 0.5 ? 'met' : 'NOT MET'}`);
    if (json)
      console.log(
        JSON.stringify({ rows: ROWS, bareMs, e2eMs, ratio, parts: manifest.parts.length }, null, 2),
      );
  } finally {
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
