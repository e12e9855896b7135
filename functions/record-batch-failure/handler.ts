// Lambda entry point of the batch-scoring RecordFailure state.
import { recordBatchFailure } from './core.ts';

export const handler = async (event: unknown) => recordBatchFailure(event);
