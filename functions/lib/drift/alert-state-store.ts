// Where each model's drift alert state lives between scheduled checks (see alert-policy.ts), and
// its DynamoDB adapter: one item per model in a small table of its own (key `model`), written by
// compare-and-set on a revision, so two checks racing on one model never both count.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { AlertStateSchema } from './alert-policy.ts';

/** The decision made for the stored `lastWindow`, kept so a re-run of that window reports (and acts on) the same. */
export const WindowDecisionSchema = z.object({
  /** The window's drift status (`DriftStatus`). */
  status: z.enum(['stable', 'watch', 'significant', 'insufficient-data']),
  raised: z.boolean(),
  cleared: z.boolean(),
  reason: z.string(),
});
export type WindowDecision = z.output<typeof WindowDecisionSchema>;

export const StoredAlertStateSchema = AlertStateSchema.extend({
  /** Bumped by every write: the compare-and-set token. */
  revision: z.number().int().min(1),
  decision: WindowDecisionSchema.optional(),
});
/** A model's alert state as stored. */
export type StoredAlertState = z.output<typeof StoredAlertStateSchema>;

/** Port: the alert state of each model. */
export interface AlertStateStore {
  /** The stored state (strongly consistent), or undefined before the model's first judged window. */
  get(model: string): Promise<StoredAlertState | undefined>;
  /**
   * Compare-and-set: store `state` with revision `expectedRevision + 1` (1 for a first write) only
   * if the stored revision is still `expectedRevision` (`undefined`: nothing stored yet). Returns
   * the stored state, or undefined when another writer got there first (re-read and decide again).
   */
  put(
    model: string,
    state: Omit<StoredAlertState, 'revision'>,
    expectedRevision: number | undefined,
  ): Promise<StoredAlertState | undefined>;
}

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException ||
  (err as Error | undefined)?.name === 'ConditionalCheckFailedException';

/** The alert states in the table `tableName` (partition key `model`, a string). */
export class DynamoDbAlertStateStore implements AlertStateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(model: string): Promise<StoredAlertState | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { model }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const parsed = StoredAlertStateSchema.safeParse(out.Item);
    if (!parsed.success)
      throw new Error(
        `drift alert state of ${model} in ${this.tableName} is not valid: ${parsed.error.issues
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    return parsed.data;
  }

  async put(
    model: string,
    state: Omit<StoredAlertState, 'revision'>,
    expectedRevision: number | undefined,
  ): Promise<StoredAlertState | undefined> {
    const stored: StoredAlertState = {
      ...StoredAlertStateSchema.omit({ revision: true }).parse(state),
      revision: (expectedRevision ?? 0) + 1,
    };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          // updatedAt is for people reading the table; nothing decides on it.
          Item: { model, ...stored, updatedAt: this.now().toISOString() },
          ...(expectedRevision === undefined
            ? {
                ConditionExpression: 'attribute_not_exists(#model)',
                ExpressionAttributeNames: { '#model': 'model' },
              }
            : {
                ConditionExpression: '#revision = :expected',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': expectedRevision },
              }),
        }),
      );
      return stored;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }
}
