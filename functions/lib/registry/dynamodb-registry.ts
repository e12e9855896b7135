// DynamoDB adapter for the model registry. One table, items keyed (pk, sk):
//   MODEL#{m} / HEAD              counters and the Production pointer (the single source of truth)
//   MODEL#{m} / VERSION#{0000000n} one item per version
//   MODEL#{m} / RUN#{runId}       run id → version, makes registration idempotent
//   MODEL#{m} / AUDIT#{change}    audit trail, one item per change (register#{v}, rev#{n})
// Only single-item conditional writes are used (dynalite has no transactions), and the
// Production pointer lives on one item so one conditional write decides each promotion.
// Everything else (version items' stage fields, audit events) is derived from the deciding
// write and repeated by a retry, so a call that failed half-way is completed by calling again.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, ModelNotFound } from '../errors.ts';
import type {
  AuditEvent,
  ModelRegistry,
  ModelSummary,
  ModelVersion,
  NewModelVersion,
  Stage,
} from './model-version.ts';

const pk = (model: string) => `MODEL#${model}`;
const HEAD = 'HEAD';
const versionSk = (version: number) => `VERSION#${String(version).padStart(10, '0')}`;
const runSk = (runId: string) => `RUN#${runId}`;

interface HeadItem {
  latestVersion?: number;
  productionVersion?: number;
  stageRevision?: number;
  /**
   * What the last promotion replaced, who made it, why and when: written with the pointer in the
   * same conditional update, so a retry can redo that promotion's derived writes exactly.
   */
  previousProductionVersion?: number;
  promotedBy?: string;
  promotionReason?: string;
  updatedAt?: string;
  /** The last archive decided on the head, so a retry completes it instead of deciding again. */
  lastArchive?: { version: number; revision: number; actor: string; reason?: string; at: string };
}

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException ||
  (err as Error | undefined)?.name === 'ConditionalCheckFailedException';

/** Registry backed by the table named by `tableName`. */
export class DynamoDbModelRegistry implements ModelRegistry {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async getModel(model: string): Promise<ModelSummary | undefined> {
    const head = await this.head(model);
    return head && toSummary(model, head);
  }

  async getVersion(model: string, version: number): Promise<ModelVersion | undefined> {
    const [item, head] = await Promise.all([this.versionItem(model, version), this.head(model)]);
    return item && withStage(item, head);
  }

  async getProductionVersion(model: string): Promise<ModelVersion | undefined> {
    const head = await this.head(model);
    if (head?.productionVersion === undefined) return undefined;
    const item = await this.versionItem(model, head.productionVersion);
    return item && withStage(item, head);
  }

  async listModels(): Promise<ModelSummary[]> {
    const models: ModelSummary[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :head',
          ExpressionAttributeValues: { ':head': HEAD },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) models.push(toSummary(String(item.model), item as HeadItem));
      start = page.LastEvaluatedKey;
    } while (start);
    return models.sort((a, b) => a.model.localeCompare(b.model));
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    const [head, items] = await Promise.all([this.head(model), this.itemsWithPrefix(model, 'VERSION#')]);
    return items.map((item) => withStage(item as unknown as ModelVersion, head));
  }

  async listAuditEvents(model: string): Promise<AuditEvent[]> {
    const events = (await this.itemsWithPrefix(model, 'AUDIT#')).map(({ pk: _pk, sk, ...event }) => ({
      event: event as unknown as AuditEvent,
      revision: Number(/^AUDIT#rev#(\d+)$/.exec(String(sk))?.[1] ?? 0),
    }));
    // Time orders the trail; within one millisecond, stage revisions keep their own order.
    return events
      .sort((a, b) => a.event.at.localeCompare(b.event.at) || a.revision - b.revision)
      .map((e) => e.event);
  }

  /** Every item of the model whose sort key starts with `prefix`, all pages. */
  private async itemsWithPrefix(model: string, prefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk(model), ':prefix': prefix },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async allocateVersion(model: string, trainingRunId: string): Promise<number> {
    const key = { pk: pk(model), sk: runSk(trainingRunId) };
    const existing = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    if (existing.Item) return Number(existing.Item.version);
    // Atomic counter: each call gets a fresh number; a lost race below only leaves a gap.
    const counter = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: pk(model), sk: HEAD },
        UpdateExpression: 'SET model = :m ADD latestVersion :one',
        ExpressionAttributeValues: { ':m': model, ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const allocated = Number(counter.Attributes?.latestVersion);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, version: allocated, model, trainingRunId },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return allocated;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const winner = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      return Number(winner.Item?.version);
    }
  }

  async registerVersion(input: NewModelVersion): Promise<ModelVersion> {
    const { model, version } = input;
    const item: ModelVersion = {
      ...input,
      stage: input.stage ?? 'Staging',
      createdAt: this.now().toISOString(),
    };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: pk(model), sk: versionSk(version), ...item },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // already written by an earlier attempt of this run
    }
    const stored = await this.getVersion(model, version);
    if (!stored) throw new Error(`registered ${model} v${version} but cannot read it back`);
    // Outside the try: when an earlier attempt wrote the version but not its audit event, this
    // attempt's put fails its condition and must still write the event. Taken from the stored
    // item, so every attempt writes the same event.
    await this.audit(model, `register#${version}`, stored.createdAt, {
      action: 'register',
      version,
      stage: item.stage,
      actor: stored.createdBy,
    });
    return stored;
  }

  async promoteToProduction(
    model: string,
    version: number,
    opts: { actor: string; reason?: string; expectedRevision?: number },
  ): Promise<ModelVersion> {
    const [item, head] = await Promise.all([this.versionItem(model, version, true), this.head(model, true)]);
    if (!item || !head) throw new ModelNotFound(`model ${model} has no version ${version}`);
    if (head.productionVersion === version && opts.expectedRevision === undefined) {
      // Already decided, maybe by an earlier attempt that failed before its derived writes:
      // finish them from what the head recorded (all idempotent).
      await this.completePromotion(model, head.stageRevision ?? 0, {
        version,
        previous: head.previousProductionVersion,
        actor: head.promotedBy ?? opts.actor,
        reason: head.promotionReason ?? opts.reason,
        at: head.updatedAt ?? this.now().toISOString(),
      });
      return withStage(item, head);
    }
    const revision = opts.expectedRevision ?? head.stageRevision ?? 0;
    const previous = head.productionVersion;
    const at = this.now().toISOString();
    // Optional fields are removed when absent, so the head never describes an older promotion.
    const set = ['productionVersion = :v', 'stageRevision = :next', 'updatedAt = :t', 'promotedBy = :by'];
    const remove: string[] = [];
    if (previous === undefined) remove.push('previousProductionVersion');
    else set.push('previousProductionVersion = :prev');
    if (opts.reason === undefined) remove.push('promotionReason');
    else set.push('promotionReason = :why');
    await this.decideOnHead(model, version, revision, {
      update: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
      values: {
        ':v': version,
        ':next': revision + 1,
        ':t': at,
        ':by': opts.actor,
        ...(previous === undefined ? {} : { ':prev': previous }),
        ...(opts.reason === undefined ? {} : { ':why': opts.reason }),
      },
    });
    await this.completePromotion(model, revision + 1, {
      version,
      previous,
      actor: opts.actor,
      reason: opts.reason,
      at,
    });
    return { ...withStage(item, { ...head, productionVersion: version }) };
  }

  async archiveVersion(
    model: string,
    version: number,
    opts: { actor: string; reason?: string; expectedRevision?: number },
  ): Promise<ModelVersion> {
    const [item, head] = await Promise.all([this.versionItem(model, version, true), this.head(model, true)]);
    if (!item || !head) throw new ModelNotFound(`model ${model} has no version ${version}`);
    if (head.productionVersion === version)
      throw new ConflictError(
        `${model} v${version} is the Production version; promote another version first, then archive it`,
        { model, version },
      );
    const last = head.lastArchive;
    if (last?.version === version && opts.expectedRevision === undefined) {
      // Decided already (maybe by an attempt that failed before its derived writes): finish it.
      await this.completeArchive(model, last);
      return withStage({ ...item, stage: 'Archived' }, head);
    }
    if (item.stage === 'Archived') return withStage(item, head);
    const revision = opts.expectedRevision ?? head.stageRevision ?? 0;
    const change = {
      version,
      revision: revision + 1,
      actor: opts.actor,
      at: this.now().toISOString(),
      ...(opts.reason === undefined ? {} : { reason: opts.reason }),
    };
    await this.decideOnHead(model, version, revision, {
      update: 'SET stageRevision = :next, updatedAt = :t, lastArchive = :change',
      // The Production version cannot be archived, even if it became Production since the read.
      extraCondition: '(attribute_not_exists(productionVersion) OR productionVersion <> :v)',
      values: { ':next': revision + 1, ':t': change.at, ':change': change, ':v': version },
    });
    await this.completeArchive(model, change);
    return withStage({ ...item, stage: 'Archived' }, head);
  }

  /**
   * The one conditional write that decides a stage change: `update` on the model's head item,
   * only if its stage revision is still `revision` (and `extraCondition` holds). A lost race is
   * a ConflictError; the caller then re-reads and decides again.
   */
  private async decideOnHead(
    model: string,
    version: number,
    revision: number,
    change: { update: string; values: Record<string, unknown>; extraCondition?: string },
  ): Promise<void> {
    const unchanged = revision === 0 ? 'attribute_not_exists(stageRevision)' : 'stageRevision = :rev';
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pk(model), sk: HEAD },
          UpdateExpression: change.update,
          ConditionExpression: change.extraCondition
            ? `${unchanged} AND ${change.extraCondition}`
            : unchanged,
          ExpressionAttributeValues: { ...change.values, ...(revision === 0 ? {} : { ':rev': revision }) },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new ConflictError(`another stage change of ${model} happened first; re-read and retry`, {
        model,
        version,
      });
    }
  }

  /** The writes that follow an archive decided on the head item (idempotent). */
  private async completeArchive(model: string, change: NonNullable<HeadItem['lastArchive']>): Promise<void> {
    await this.setStage(model, change.version, 'Archived');
    await this.audit(model, `rev#${change.revision}`, change.at, {
      action: 'archive',
      version: change.version,
      actor: change.actor,
      reason: change.reason ?? null,
    });
  }

  /**
   * The writes that follow a promotion decided on the head item: version items' stage fields
   * (reads derive stages from the head anyway) and the audit event of that stage revision.
   */
  private async completePromotion(
    model: string,
    revision: number,
    change: { version: number; previous?: number; actor: string; reason?: string; at: string },
  ): Promise<void> {
    const { version, previous } = change;
    await this.setStage(model, version, 'Production');
    // Re-promoting the champion (with expectedRevision) must not archive it.
    if (previous !== undefined && previous !== version) await this.setStage(model, previous, 'Archived');
    await this.audit(model, `rev#${revision}`, change.at, {
      action: 'promote',
      version,
      previousVersion: previous ?? null,
      actor: change.actor,
      reason: change.reason ?? null,
    });
  }

  private async head(model: string, consistent = false): Promise<HeadItem | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: pk(model), sk: HEAD },
        ConsistentRead: consistent,
      }),
    );
    return out.Item as HeadItem | undefined;
  }

  private async versionItem(
    model: string,
    version: number,
    consistent = false,
  ): Promise<ModelVersion | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: pk(model), sk: versionSk(version) },
        ConsistentRead: consistent,
      }),
    );
    return out.Item as ModelVersion | undefined;
  }

  private async setStage(model: string, version: number, stage: Stage): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: pk(model), sk: versionSk(version) },
        UpdateExpression: 'SET stage = :s',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':s': stage },
      }),
    );
  }

  /**
   * Append one audit event. Keys are deterministic per change and the put is conditional, so a
   * repeated write (a retry finishing an earlier attempt) keeps the first event, never duplicates.
   */
  private async audit(
    model: string,
    changeKey: string,
    at: string,
    event: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: pk(model), sk: `AUDIT#${changeKey}`, model, at, ...event },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // already recorded
    }
  }
}

function toSummary(model: string, head: HeadItem): ModelSummary {
  return {
    model,
    latestVersion: head.latestVersion ?? 0,
    stageRevision: head.stageRevision ?? 0,
    ...(head.productionVersion === undefined ? {} : { productionVersion: head.productionVersion }),
  };
}

/** The head's Production pointer overrides stored stages, so there is never more than one Production. */
function withStage(item: ModelVersion, head: HeadItem | undefined): ModelVersion {
  const { pk: _pk, sk: _sk, ...rest } = item as ModelVersion & { pk?: string; sk?: string };
  const isProduction = head?.productionVersion === item.version;
  const stage: Stage = isProduction ? 'Production' : item.stage === 'Production' ? 'Archived' : item.stage;
  return { ...rest, stage };
}
