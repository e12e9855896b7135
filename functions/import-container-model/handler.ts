// Lambda entry point of the training pipeline's ImportContainerModel step.
import { pipelineHandler } from '../lib/runs/pipeline-handler.ts';
import { importContainerModel } from './core.ts';

export const handler = pipelineHandler('train', importContainerModel);
