// Lambda entry point of the training pipeline's TrainModel step.
import { pipelineHandler } from '../lib/runs/pipeline-handler.ts';
import { trainModel } from './core.ts';

export const handler = pipelineHandler('train', trainModel);
