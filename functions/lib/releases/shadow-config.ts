// Which challenger shadows which model, and until when. The predict function has one `shadow`
// alias, so there is one shadow at a time: one item in the registry table describes it, read by
// every live invocation through a TTL cache (one GetItem per environment per TTL, whatever the
// traffic), written by the shadow release's start and finish steps. Items are never deleted
// (the registry grants no deletes): finishing marks the item `finished` and keeps it as the
// record of the last shadow. Expiry is checked in code (dynalite has no TTL).
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ConflictError, PlatformError } from '../errors.ts';

/** Name of the predict function's alias that runs the challenger of a shadow release. */
export const SHADOW_ALIAS_NAME = 'shadow';

/**
 * Key of the shadow item in the registry table. Its partition holds no model, and its sort key is
 * neither `HEAD` nor a prefix the registry queries (`VERSION#`, `RUN#`, `AUDIT#`), so model
 * listings and version listings never see it.
 */
export const SHADOW_CONFIG_KEY = { pk: `ALIAS#${SHADOW_ALIAS_NAME}`, sk: 'SHADOW' } as const;

export const ShadowConfigSchema = z.object({
  /** The model whose live requests are copied. */
  model: z.string().min(1),
  /** Registry version the challenger scores copies with (pinned by `functionVersion`). */
  challengerVersion: z.number().int().positive(),
  /** The model's Production version when the shadow started: what the challenger is compared with. */
  championVersion: z.number().int().positive().optional(),
  /** Published predict function version the `shadow` alias points at. */
  functionVersion: z.string().regex(/^\d+$/),
  /** Who runs this shadow (the release's id): a retried start with the same id is the same shadow. */
  releaseId: z.string().min(1),
  startedAt: z.iso.datetime(),
  /** Copies are sent until this instant (exclusive), even if nobody finishes the shadow. */
  until: z.iso.datetime(),
  state: z.enum(['active', 'finished']),
  finishedAt: z.iso.datetime().optional(),
  /** Why it finished: the release's outcome, or who stopped it. */
  finishReason: z.string().optional(),
  /** The comparison report of its window, once FinishShadow has written it. */
  report: z
    .object({
      uri: z.string().min(1),
      verdict: z.enum(['pass', 'fail', 'insufficient-data']),
      at: z.iso.datetime(),
    })
    .optional(),
});

export type ShadowConfig = z.output<typeof ShadowConfigSchema>;

/** What a shadow's start records; the store adds `state`. */
export type NewShadowConfig = Omit<ShadowConfig, 'state' | 'finishedAt' | 'finishReason' | 'report'>;

/** Where a shadow's comparison report is and what it concluded. */
export type ShadowReportRef = NonNullable<ShadowConfig['report']>;

/** No shadow item, or none of the release asked about (404). */
export class ShadowNotFound extends PlatformError {
  override readonly name = 'ShadowNotFound';
  readonly status = 404;
}

/** True while copies should be sent: active and before `until`. */
export function isShadowActive(config: ShadowConfig | undefined, now: number): config is ShadowConfig {
  return config !== undefined && config.state === 'active' && Date.parse(config.until) > now;
}

/** Port: the shadow item. */
export interface ShadowConfigStore {
  /** The item as stored (active, finished or expired), or undefined before the first shadow. */
  get(opts?: { consistent?: boolean }): Promise<ShadowConfig | undefined>;
  /**
   * Start a shadow. Conditional put: refused with ConflictError (naming the running shadow) while
   * another release's shadow is active and unexpired; the same `releaseId` overwrites its own
   * item, so a retried start is idempotent.
   */
  start(config: NewShadowConfig, now: Date): Promise<ShadowConfig>;
  /**
   * Finish the shadow of `releaseId`. Conditional update: only that release's item changes;
   * finishing it again keeps the first finish. Returns the item as it ends up, or undefined when
   * no item exists; ConflictError when the item belongs to another release.
   */
  finish(releaseId: string, opts: { at: Date; reason: string }): Promise<ShadowConfig | undefined>;
  /**
   * Record the report on the item of `releaseId` (overwrites: a retried finish writes the same
   * report). ShadowNotFound when the item is another release's, or there is none.
   */
  recordReport(releaseId: string, report: ShadowReportRef): Promise<void>;
}

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException ||
  (err as Error | undefined)?.name === 'ConditionalCheckFailedException';

/** Parse a stored item; a corrupt one is an error that names the item, not a silent "no shadow". */
function parseItem(item: Record<string, unknown> | undefined): ShadowConfig | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, ...rest } = item;
  const parsed = ShadowConfigSchema.safeParse(rest);
  if (!parsed.success)
    throw new Error(
      `the shadow item (${SHADOW_CONFIG_KEY.pk}/${SHADOW_CONFIG_KEY.sk}) is malformed: ${parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  return parsed.data;
}

/** The running shadow in one phrase, for refusals. */
export const describeShadow = (c: ShadowConfig) =>
  `${c.model} v${c.challengerVersion} (release ${c.releaseId}, function version ${c.functionVersion}, until ${c.until})`;

/** The shadow item in the registry table `tableName`. */
export class DynamoDbShadowConfigStore implements ShadowConfigStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(opts: { consistent?: boolean } = {}): Promise<ShadowConfig | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: SHADOW_CONFIG_KEY, ConsistentRead: opts.consistent }),
    );
    return parseItem(out.Item);
  }

  async start(config: NewShadowConfig, now: Date): Promise<ShadowConfig> {
    const item: ShadowConfig = ShadowConfigSchema.parse({ ...config, state: 'active' });
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...SHADOW_CONFIG_KEY, ...item },
          // ISO-8601 UTC strings of one format compare in time order.
          ConditionExpression:
            'attribute_not_exists(pk) OR releaseId = :release OR #state <> :active OR #until <= :now',
          ExpressionAttributeNames: { '#state': 'state', '#until': 'until' },
          ExpressionAttributeValues: {
            ':release': config.releaseId,
            ':active': 'active',
            ':now': now.toISOString(),
          },
        }),
      );
      return item;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const running = await this.get({ consistent: true });
      throw new ConflictError(
        running
          ? `a shadow is already running: ${describeShadow(running)}; finish it before starting another`
          : 'another shadow started at the same moment; re-read and retry',
        running ? { running } : undefined,
      );
    }
  }

  async finish(releaseId: string, opts: { at: Date; reason: string }): Promise<ShadowConfig | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SHADOW_CONFIG_KEY,
          UpdateExpression: 'SET #state = :finished, finishedAt = :at, finishReason = :why',
          // Only this release's item, and only its first finish (a retry keeps the first).
          ConditionExpression: 'releaseId = :release AND #state = :active',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':finished': 'finished',
            ':active': 'active',
            ':at': opts.at.toISOString(),
            ':why': opts.reason,
            ':release': releaseId,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseItem(out.Attributes);
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const stored = await this.get({ consistent: true });
      if (stored === undefined || stored.releaseId === releaseId) return stored;
      throw new ConflictError(
        `the shadow item belongs to another release: ${describeShadow(stored)}; not finishing it for ${releaseId}`,
        { stored },
      );
    }
  }

  async recordReport(releaseId: string, report: ShadowReportRef): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: SHADOW_CONFIG_KEY,
          UpdateExpression: 'SET #report = :report',
          ConditionExpression: 'releaseId = :release',
          ExpressionAttributeNames: { '#report': 'report' },
          ExpressionAttributeValues: { ':report': report, ':release': releaseId },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new ShadowNotFound(
        `the shadow item is not release ${releaseId}'s: its report is not recorded there`,
      );
    }
  }
}

export interface ShadowLookupOptions {
  /**
   * How long an answer is reused. A started or finished shadow is seen within this; a shadow is
   * bounded by `until` in code as well, so an expired one stops at once, cached or not.
   * @default 5000
   */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** The active shadow, if any, as the predict function asks for it. */
export type ShadowLookup = () => Promise<ShadowConfig | undefined>;

/**
 * `store.get()` behind a TTL cache. Concurrent callers share one read; a failed read is not
 * cached (the next call retries) and rejects: callers on the served path catch it.
 */
export function cachedShadowLookup(
  store: Pick<ShadowConfigStore, 'get'>,
  options: ShadowLookupOptions = {},
): ShadowLookup {
  const { ttlMs = 5_000, now = Date.now } = options;
  let cached: { at: number; value: Promise<ShadowConfig | undefined> } | undefined;
  return async () => {
    const t = now();
    if (!cached || t - cached.at >= ttlMs) {
      const value = store.get();
      const entry = { at: t, value };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    const config = await cached.value;
    return isShadowActive(config, now()) ? config : undefined;
  };
}
