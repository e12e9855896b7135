// Lambda entry point of the training pipeline's RecordFailure state.
import { runLog } from '../lib/runs/pipeline-handler.ts';
import { recordRunFailure } from './core.ts';

export const handler = (event: unknown) => recordRunFailure(event, { runLog });
