// Runs dynalite, the DynamoDB emulator, on 127.0.0.1: in memory, or persisted in a LevelDB folder.

import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CLIENT_REGION, LOCAL_CREDENTIALS } from './local-aws.ts';

export { ensureTablesFromTemplate, type TemplateTable } from './dynamodb-tables.ts';

const require = createRequire(import.meta.url);

interface DynaliteOptions {
  readonly path?: string;
  readonly createTableMs?: number;
  readonly deleteTableMs?: number;
  readonly updateTableMs?: number;
}
type Dynalite = (options: DynaliteOptions) => Server;
interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
}
type LevelConstructor = new (path: string) => LevelDb;

export interface StartDynamoDbOptions {
  /** Folder of the persistent LevelDB store; created when missing. @default in memory */
  readonly dataDir?: string;
  /** @default 0: a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/** A running dynalite. */
export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>`, for clients and `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  readonly port: number;
  /** Close the server and the store; safe to call twice. */
  stop(): Promise<void>;
}

/** Start dynalite; tables become ACTIVE at once (no CREATING delay). Starts in a few ms. */
export async function startDynamoDb(options: StartDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const { dataDir, port = 0, host = '127.0.0.1' } = options;
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    await assertStoreIsFree(dataDir);
  }
  const dynalite = require('dynalite') as Dynalite;
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  // dynalite opens its LevelDB store lazily; one request makes it take the lock now, so a
  // second runtime on the same folder is refused by assertStoreIsFree rather than racing it.
  const probe = localDynamoDbClient(`http://${host}:${bound}`);
  await probe.send(new ListTablesCommand({ Limit: 1 }));
  probe.destroy();
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${bound}`,
    port: bound,
    stop: () => {
      // dynalite's close() also waits for pending LevelDB writes and closes the store.
      stopped ??= new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
      return stopped;
    },
  };
}

/**
 * Fail clearly when another process holds the store: dynalite itself would accept connections
 * and leave every request hanging on the LevelDB lock.
 */
async function assertStoreIsFree(dataDir: string): Promise<void> {
  // `level` is dynalite's own dependency: resolve it from there, the version dynalite opens with.
  const { Level } = createRequire(require.resolve('dynalite'))('level') as { Level: LevelConstructor };
  const probe = new Level(dataDir);
  try {
    await probe.open();
  } catch (err) {
    const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new Error(
      `DynamoDB data in ${dataDir} is in use by another process (another local runtime?): ${cause}`,
    );
  }
  await probe.close();
}

/** A DynamoDB client for `endpoint` with the local credentials. */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_CLIENT_REGION, credentials: { ...LOCAL_CREDENTIALS } });
}
