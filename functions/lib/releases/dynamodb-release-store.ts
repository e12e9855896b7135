// DynamoDB adapter of the release store, in the registry table (so `mlops status` reads the model
// and its releases from one place). Items, keyed (pk, sk):
//   LOCK#{function}:{alias} / RELEASE                         the alias lock (one per alias)
//   RELEASE#{model} / RELEASE#{startedAt}#{releaseId}         one record per release (time-ordered)
//   RELEASE#{model} / CHECK#{releaseId}#{step}#{check}        one item per health check
// None has sk = HEAD, so the registry's model listing (a scan filtered on sk = HEAD) never sees
// them; none starts with MODEL#, so no model's queries do either. Single-item conditional writes
// only (dynalite has no transactions); every write is an overwrite by key or conditional.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ReleaseInProgress } from './release-errors.ts';
import type {
  HealthCheckRecord,
  ReleaseKey,
  ReleaseLock,
  ReleaseRecord,
  ReleaseStore,
} from './release-record.ts';

const LOCK_SK = 'RELEASE';
const lockPk = (target: string) => `LOCK#${target}`;
const releasePk = (model: string) => `RELEASE#${model}`;
const RECORD_PREFIX = 'RELEASE#';
const recordSk = (key: ReleaseKey) => `${RECORD_PREFIX}${key.startedAt}#${key.releaseId}`;
const checkPrefix = (releaseId: string) => `CHECK#${releaseId}#`;
const checkSk = (releaseId: string, step: number, check: number) =>
  `${checkPrefix(releaseId)}${String(step).padStart(2, '0')}#${String(check).padStart(5, '0')}`;

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException ||
  (err as Error | undefined)?.name === 'ConditionalCheckFailedException';

/** A plain copy without undefined fields (the document client refuses them by default). */
const clean = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Drop the table's own keys (and the lock's numeric expiry) from an item. */
function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, expiresAtMs: _e, ...rest } = item;
  return rest as T;
}

export class DynamoDbReleaseStore implements ReleaseStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async acquireLock(lock: Omit<ReleaseLock, 'releasedAt'>, now: Date): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: lockPk(lock.target),
            sk: LOCK_SK,
            ...lock,
            expiresAtMs: Date.parse(lock.expiresAt),
          },
          // Free, let go, expired (its holder stopped renewing), or already ours (a retried start).
          ConditionExpression:
            'attribute_not_exists(pk) OR attribute_exists(releasedAt) OR expiresAtMs < :now OR executionArn = :me',
          ExpressionAttributeValues: { ':now': now.getTime(), ':me': lock.executionArn },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const holder = await this.getLock(lock.target, true);
      throw new ReleaseInProgress(
        holder
          ? `release ${holder.releaseId} (${holder.model} v${holder.modelVersion}, started ${holder.startedAt}) ` +
              `is shifting ${lock.target}; one release per alias at a time: wait for it to end, or ` +
              `\`mlops rollback ${holder.model}\` (its lock expires at ${holder.expiresAt} if it stopped)`
          : `another release holds ${lock.target}; one release per alias at a time`,
        holder ? { holder } : undefined,
      );
    }
  }

  async renewLock(target: string, executionArn: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: lockPk(target), sk: LOCK_SK },
          UpdateExpression: 'SET expiresAt = :iso, expiresAtMs = :ms',
          ConditionExpression: 'executionArn = :me AND attribute_not_exists(releasedAt)',
          ExpressionAttributeValues: {
            ':iso': expiresAt.toISOString(),
            ':ms': expiresAt.getTime(),
            ':me': executionArn,
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async releaseLock(target: string, executionArn: string, at: Date): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: lockPk(target), sk: LOCK_SK },
          UpdateExpression: 'SET releasedAt = :at',
          ConditionExpression: 'executionArn = :me AND attribute_not_exists(releasedAt)',
          ExpressionAttributeValues: { ':at': at.toISOString(), ':me': executionArn },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // not the holder, or already let go
    }
  }

  async getLock(target: string, consistent = false): Promise<ReleaseLock | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: lockPk(target), sk: LOCK_SK },
        ConsistentRead: consistent,
      }),
    );
    return out.Item ? strip<ReleaseLock>(out.Item) : undefined;
  }

  async createRelease(record: ReleaseRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: releasePk(record.model), sk: recordSk(record), ...clean(record) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // written by an earlier attempt of this start
    }
  }

  async updateRelease(
    key: ReleaseKey,
    changes: Partial<Omit<ReleaseRecord, keyof ReleaseKey>>,
    opts: { unlessAborted?: boolean } = {},
  ): Promise<boolean> {
    const entries = Object.entries(changes).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return true;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:v${i}`] = clean(value);
      return `#f${i} = :v${i}`;
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: releasePk(key.model), sk: recordSk(key) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: opts.unlessAborted
            ? 'attribute_exists(pk) AND attribute_not_exists(abortRequested)'
            : 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const stored = await this.getRelease(key);
      if (!stored) throw new Error(`no release record ${key.releaseId} of ${key.model} to update`);
      return false;
    }
  }

  async getRelease(key: ReleaseKey): Promise<ReleaseRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: releasePk(key.model), sk: recordSk(key) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? strip<ReleaseRecord>(out.Item) : undefined;
  }

  async latestRelease(model: string): Promise<ReleaseRecord | undefined> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': releasePk(model), ':prefix': RECORD_PREFIX },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = out.Items?.[0];
    return item ? strip<ReleaseRecord>(item) : undefined;
  }

  async putCheck(key: ReleaseKey, check: HealthCheckRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: releasePk(key.model),
          sk: checkSk(key.releaseId, check.step, check.check),
          releaseId: key.releaseId,
          ...clean(check),
        },
      }),
    );
  }

  async listChecks(key: ReleaseKey): Promise<HealthCheckRecord[]> {
    const checks: HealthCheckRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': releasePk(key.model), ':prefix': checkPrefix(key.releaseId) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const { releaseId: _r, ...check } = strip<HealthCheckRecord & { releaseId: string }>(item);
        checks.push(check);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return checks;
  }
}
