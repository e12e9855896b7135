// Lambda entry point of the batch-scoring ScoreBatch step (Distributed Map item processor).
import { batchStep } from '../lib/batch/batch-handler.ts';
import { scoringPorts } from '../lib/batch/scoring-ports.ts';
import { parseMapBatch, scoreBatch } from './core.ts';

export const handler = (event: unknown) =>
  batchStep('score-batch', async () => {
    const batch = parseMapBatch(event);
    return scoreBatch(batch, await scoringPorts(batch.BatchInput.plan));
  });
