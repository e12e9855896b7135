// Lambda entry point of the batch-scoring ScoreFile step (small inputs).
import * as z from 'zod';
import { batchStep } from '../lib/batch/batch-handler.ts';
import { BatchPlan } from '../lib/batch/batch-plan.ts';
import { scoringPorts } from '../lib/batch/scoring-ports.ts';
import { scoreFile } from './core.ts';

const Event = z.looseObject({ plan: BatchPlan });

export const handler = (event: unknown) =>
  batchStep('score-file', async () => {
    const { plan } = Event.parse(event);
    return scoreFile(plan, await scoringPorts(plan));
  });
