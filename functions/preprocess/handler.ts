// Lambda entry point of the training pipeline's Preprocess step.
import { pipelineHandler } from '../lib/runs/pipeline-handler.ts';
import { preprocess } from './core.ts';

export const handler = pipelineHandler('preprocess', preprocess);
