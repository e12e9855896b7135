// Lambda entry point of the training pipeline's RegisterModel step.
import * as z from 'zod';
import { parseEnv } from '../lib/config/env.ts';
import { DynamoDbModelRegistry } from '../lib/registry/dynamodb-registry.ts';
import { documentClient, pipelineHandler } from '../lib/runs/pipeline-handler.ts';
import { registerModel } from './core.ts';

const env = parseEnv(z.object({ REGISTRY_TABLE: z.string().min(1) }));
const registry = new DynamoDbModelRegistry(documentClient, env.REGISTRY_TABLE);

export const handler = pipelineHandler('register', (state, ports) =>
  registerModel(state, { ...ports, registry }),
);
