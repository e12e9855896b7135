// Batch step ScoreFile (small inputs): reads the whole object, and scores it part by part —
// the same parts, keys and bytes the Distributed Map would write for a large file.

import type { PartSummary } from '../lib/batch/batch-output.ts';
import type { BatchPlan } from '../lib/batch/batch-plan.ts';
import { decodeInput, readItems } from '../lib/batch/input-file.ts';
import { type ScorePartPorts, scorePart } from '../lib/batch/score-part.ts';

export async function scoreFile(plan: BatchPlan, ports: ScorePartPorts): Promise<PartSummary[]> {
  const rows = readItems(decodeInput(await ports.data.read(plan.readKey)), plan.format);
  const parts: PartSummary[] = [];
  for (let start = 0, index = 0; start < rows.length; start += plan.batchSize, index++) {
    const items = rows.slice(start, start + plan.batchSize).map((row, i) => ({ index: start + i, row }));
    parts.push(await scorePart(plan, index, items, ports));
  }
  return parts;
}
