// Lambda entry point of the training pipeline's ValidateData step.
import { pipelineHandler } from '../lib/runs/pipeline-handler.ts';
import { validateData } from './core.ts';

export const handler = pipelineHandler('validate', validateData);
