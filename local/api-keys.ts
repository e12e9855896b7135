// API key values for the template's `AWS::ApiGateway::ApiKey`s: taken from the template when
// it sets `Value`, else generated once and kept in the data folder (owner-only), as AWS keeps a
// generated key for the life of the resource.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Logical id → key value for `keyIds`; `explicit` holds values the template sets. */
export function loadApiKeys(
  dataDir: string,
  keyIds: readonly string[],
  explicit: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const file = join(dataDir, 'api-keys.json');
  const stored: Record<string, string> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  let changed = false;
  for (const id of keyIds) {
    const wanted = explicit.get(id) ?? stored[id] ?? randomBytes(20).toString('hex');
    if (stored[id] !== wanted) {
      stored[id] = wanted;
      changed = true;
    }
  }
  if (changed) {
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return new Map(keyIds.map((id) => [id, stored[id] ?? '']));
}
