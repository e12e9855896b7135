// Lambda entry point of the training pipeline's BuildTestSet step.
import { pipelineHandler } from '../lib/runs/pipeline-handler.ts';
import { buildTestSet } from './core.ts';

export const handler = pipelineHandler('build-test-set', buildTestSet);
