// Reads a training dataset file: a JSON array of rows, or JSON Lines (one row per line).
import { InvalidRequest } from '../errors.ts';

/**
 * Parse a JSON array or JSON Lines dataset into rows. Values that are not objects come back as
 * they are, so the caller counts them as rejected rows; unparsable text is an InvalidRequest.
 */
export function parseDataset(bytes: Uint8Array): unknown[] {
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text) as unknown[];
    } catch (err) {
      throw new InvalidRequest(`dataset is not a valid JSON array: ${(err as Error).message}`);
    }
  }
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch (err) {
      throw new InvalidRequest(`dataset line ${i + 1} is not valid JSON: ${(err as Error).message}`);
    }
  });
}

/** Rows as JSON Lines (the format the pipeline writes between steps). */
export const toJsonLines = (rows: readonly unknown[]) =>
  rows.map((row) => `${JSON.stringify(row)}\n`).join('');
