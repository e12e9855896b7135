// What a model may be called: it becomes a URL path segment, an S3 key segment and a
// registry key, so the rule lives in one place.
import * as z from 'zod';

export const ModelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'model names are 1-63 lowercase letters, digits or dashes');
