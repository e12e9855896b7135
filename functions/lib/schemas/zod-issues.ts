// Turns zod's issues into the API's `{ path, message }` list, one entry per bad field.
import type { z } from 'zod';
import type { FieldIssue } from '../errors.ts';

/** Dotted path of an issue, e.g. `instances.3.distance`; `(root)` for the document itself. */
function joinPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** Flatten a ZodError; `prefix` locates the validated value inside the request. */
export function toFieldIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const base = [...prefix, ...issue.path];
    // An unknown key is an error *at that key*, which is where the caller has to look.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: joinPath([...base, key]), message: 'unknown field' }));
    }
    return [{ path: joinPath(base), message: issue.message }];
  });
}
