// `mlops predict <model> --file rows.json | --instances '[…]'`: one call to the prediction API.
import { readFileSync } from 'node:fs';
import { num, table } from '../format.ts';
import type { Target } from '../target.ts';

export interface PredictArgs {
  readonly model: string;
  readonly file?: string;
  readonly instances?: string;
  readonly json: boolean;
}

/** Read instances from a JSON array, a `{ "instances": [...] }` document, one object, or JSON Lines. */
export function readInstances(text: string): unknown[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  }
  if (Array.isArray(doc)) return doc;
  const instances = (doc as { instances?: unknown } | null)?.instances;
  return Array.isArray(instances) ? instances : [doc];
}

export async function predictCommand(target: Target, args: PredictArgs): Promise<number> {
  const source = args.file ? readFileSync(args.file, 'utf8') : args.instances;
  if (!source) throw new Error("give --file rows.json or --instances '[{...}]'");
  const instances = readInstances(source);
  const started = performance.now();
  const res = await fetch(`${target.apiUrl}models/${encodeURIComponent(args.model)}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': target.apiKey },
    body: JSON.stringify({ instances }),
  });
  const latency = performance.now() - started;
  const body = (await res.json()) as {
    version?: number;
    requestId?: string;
    predictions?: Array<{ score: number; label: number }>;
    error?: {
      code: string;
      message: string;
      details?: { issues?: Array<{ path: string; message: string }> };
    };
  };
  if (args.json) {
    console.log(JSON.stringify(body, null, 2));
    return res.ok ? 0 : 1;
  }
  if (!res.ok || !body.predictions) {
    console.error(
      `error ${res.status} ${body.error?.code ?? ''}: ${body.error?.message ?? JSON.stringify(body)}`,
    );
    for (const issue of body.error?.details?.issues ?? []) console.error(`  ${issue.path}: ${issue.message}`);
    return 1;
  }
  console.log(
    table(
      ['#', 'score', 'label'],
      body.predictions.map((p, i) => [i, num(p.score), p.label]),
    ),
  );
  console.log(
    `\n${args.model} v${body.version} · ${body.predictions.length} rows · ${latency.toFixed(1)} ms · request ${body.requestId}`,
  );
  return 0;
}
