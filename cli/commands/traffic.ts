// `mlops traffic <model>`: seed flights sent through the prediction API as clients send them —
// optionally shifted as `mlops drift simulate` shifts them — and, with `--outcomes`, their outcomes
// dropped afterwards as ground truth (`ground-truth/model=/dt=/`), as a data team would once the
// flights have flown. What a champion/challenger release decides on, and a retraining learns from.
import { ModelName } from '../../functions/lib/schemas/model-name.ts';
import { dropGroundTruth, seedFlights, sendInstances } from '../api-traffic.ts';
import {
  distinctShiftedFlights,
  instanceOf,
  SHIFT_DESCRIPTIONS,
  SHIFT_KINDS,
  type ShiftKind,
} from '../drift-simulation.ts';
import type { Target } from '../target.ts';

export interface TrafficArgs {
  readonly model?: string;
  /** @default 'none' */
  readonly shift?: string;
  /** Flights to send, each once (at most the seed dataset's 20,000). */
  readonly rows: number;
  /** Flights per request. */
  readonly batch: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  readonly seed: number;
  /** Drop the flights' outcomes as ground truth once they have been scored. */
  readonly outcomes: boolean;
  readonly json: boolean;
}

const count = (n: number) => n.toLocaleString('en-US');

export async function trafficCommand(target: Target, args: TrafficArgs): Promise<number> {
  const usage =
    'usage: mlops traffic <model> [--shift none|covariate|label|concept] [--rows 3000] [--batch 20] [--concurrency 4] [--seed 1] [--outcomes]';
  const model = ModelName.safeParse(args.model);
  if (!model.success) throw new Error(usage);
  const shift = (args.shift ?? 'none') as ShiftKind;
  if (!SHIFT_KINDS.includes(shift))
    throw new Error(`--shift must be one of ${SHIFT_KINDS.join(', ')} (got ${args.shift})`);
  const flights = seedFlights();
  for (const [name, value, max] of [
    ['rows', args.rows, flights.length],
    ['batch', args.batch, 1_000],
    ['concurrency', args.concurrency, 64],
  ] as const)
    if (!(Number.isInteger(value) && value > 0 && value <= max))
      throw new Error(`--${name} must be an integer from 1 to ${count(max)} (got ${value})`);
  // Refused before any traffic is sent, not after.
  if (args.outcomes && !target.outputs.DataBucketName)
    throw new Error('the stack has no DataBucketName output to drop outcomes in');
  const drawn = distinctShiftedFlights(flights, shift, args.rows, args.seed);
  const started = performance.now();
  const sent = await sendInstances(target, model.data, drawn.map(instanceOf), {
    batch: args.batch,
    concurrency: args.concurrency,
  });
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...sent.latenciesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

  const outcomesUri = args.outcomes
    ? await dropGroundTruth(target, model.data, `traffic-${shift}`, drawn)
    : undefined;
  const summary = {
    model: model.data,
    shift,
    flights: drawn.length,
    requests: sent.requestIds.length + sent.failures.length,
    answered: sent.requestIds.length,
    failed: sent.failures.length,
    firstFailure: sent.failures[0] ?? null,
    seconds: Number(seconds.toFixed(2)),
    latencyMs: { p50: Number(at(0.5).toFixed(1)), p99: Number(at(0.99).toFixed(1)) },
    outcomes: outcomesUri ?? null,
  };
  if (args.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(`shift: ${shift} — ${SHIFT_DESCRIPTIONS[shift]}`);
    console.log(
      `sent ${count(drawn.length)} flights in ${count(summary.requests)} requests of ${args.batch} (${args.concurrency} at a time) in ${seconds.toFixed(1)} s: ` +
        `${count(summary.answered)} answered, ${count(summary.failed)} failed${summary.firstFailure ? ` (${summary.firstFailure})` : ''}; ` +
        `latency p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms`,
    );
    if (outcomesUri) console.log(`outcomes: ${count(drawn.length)} labelled flights → ${outcomesUri}`);
  }
  return summary.failed === 0 ? 0 : 1;
}
