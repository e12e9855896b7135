// What a release leaves behind and how it holds its alias: the release record (strategy, plan,
// the step it is at, what it set the alias to, every check, how it ended and why), one item per
// health check, and the lock that lets one release at a time shift an alias. The port here; the
// DynamoDB adapter in dynamodb-release-store.ts.
import type { Routing } from './alias-routing.ts';
import type { DecisionPolicy } from './champion-challenger.ts';
import type { AlarmStatus, HealthThresholds, VersionStats } from './health.ts';
import type { Strategy } from './release-plan.ts';

/**
 * Where a release is. `publishing` → `baking` (per step) → `promoting` (Production, then the alias
 * handed back at rest) → `succeeded`; any failure or breach → `rolled-back` (or `rollback-failed`
 * when even that did not stick); `failed` when it ended before traffic moved; `interrupted` when a
 * code release (CodeDeploy) took the alias over and the release stopped where it was;
 * `not-promoted` when a champion/challenger's challenger did not beat the champion (the slice
 * went back to the champion).
 */
export type ReleaseStatus =
  | 'publishing'
  | 'baking'
  | 'promoting'
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'not-promoted'
  | 'rollback-failed'
  | 'interrupted';

/** Statuses of a release whose execution is still shifting or judging traffic. */
export const RUNNING_STATUSES: ReadonlySet<ReleaseStatus> = new Set(['publishing', 'baking', 'promoting']);

/** How a record is addressed: model, start time and id give its key. */
export interface ReleaseKey {
  readonly model: string;
  readonly startedAt: string;
  readonly releaseId: string;
}

export interface ReleaseStep {
  /** 0-based index into the plan. */
  readonly index: number;
  readonly percent: number;
  readonly startedAt: string;
  readonly bakeUntil: string;
}

/** One check during a bake, as stored (one item each) and shown by `mlops status`. */
export interface HealthCheckRecord {
  readonly step: number;
  readonly check: number;
  readonly at: string;
  readonly percent: number;
  readonly healthy: boolean;
  readonly breaches: readonly string[];
  readonly notes: readonly string[];
  readonly alarms: readonly AlarmStatus[];
  readonly champion: VersionStats;
  readonly challenger: VersionStats;
}

export interface ReleaseRecord extends ReleaseKey {
  readonly executionArn: string;
  readonly modelVersion: number;
  /** The model's Production version when the release started (null: it had none). */
  readonly previousModelVersion: number | null;
  readonly functionName: string;
  readonly alias: string;
  /**
   * The function version that was live (100%) when the release started: CloudFormation's version,
   * unpinned. A rollback goes back to it, and a finished release hands the alias back to it.
   */
  readonly previousFunctionVersion: string;
  /** The version published for this release, pinned to the model version. */
  readonly newFunctionVersion?: string;
  readonly strategy: Strategy;
  readonly plan: readonly number[];
  readonly bakeSeconds: number;
  readonly checkIntervalSeconds: number;
  readonly thresholds: HealthThresholds;
  readonly alarmNames: readonly string[];
  readonly status: ReleaseStatus;
  /**
   * What the release last set the alias to (its intent, read back after every change). A
   * succeeded release hands the alias back to `previousFunctionVersion`, which then serves the
   * new Production version; it stays on `newFunctionVersion` when the hand back could not be done.
   */
  readonly routing: Routing;
  readonly step?: ReleaseStep;
  readonly checks: number;
  readonly lastCheck?: HealthCheckRecord;
  readonly requestedBy: string;
  readonly updatedAt: string;
  readonly endedAt?: string;
  /** Why it ended as it did (the breach, the failure, the operator's words). */
  readonly reason?: string;
  /** `automatic` or who asked (`mlops rollback`). */
  readonly rolledBackBy?: string;
  /** Champion/challenger: how the slice is decided. */
  readonly decision?: DecisionPolicy;
  /** Champion/challenger: what the decision was, why, and where its report is. */
  readonly decided?: {
    readonly decision: 'promote' | 'keep';
    readonly summary: string;
    readonly report: string;
    readonly at: string;
  };
  /** Set by `mlops rollback` while the release runs: its next step rolls back instead. */
  readonly abortRequested?: { readonly by: string; readonly reason: string; readonly at: string };
}

/** The lock one release holds on an alias. */
export interface ReleaseLock {
  /** `<function>:<alias>`. */
  readonly target: string;
  readonly releaseId: string;
  readonly executionArn: string;
  readonly model: string;
  readonly modelVersion: number;
  readonly startedAt: string;
  /** A holder that stops renewing (a crashed execution) loses the lock at this time. */
  readonly expiresAt: string;
  /** Set when the holder let go. */
  readonly releasedAt?: string;
}

/** How long a lock lives without a renewal: the longest step between renewals, with a margin. */
export const LOCK_TTL_MS = 15 * 60 * 1000;

/** Port: release records, check items and the alias lock. */
export interface ReleaseStore {
  /** Take the lock on `lock.target`, or ReleaseInProgress naming the holder. The holder may take it again. */
  acquireLock(lock: Omit<ReleaseLock, 'releasedAt'>, now: Date): Promise<void>;
  /** Push the holder's expiry out; false when `executionArn` no longer holds the lock. */
  renewLock(target: string, executionArn: string, expiresAt: Date): Promise<boolean>;
  /** Let go (only the holder can; anyone else's call changes nothing). */
  releaseLock(target: string, executionArn: string, at: Date): Promise<void>;
  getLock(target: string): Promise<ReleaseLock | undefined>;
  /** Write the record; a second call with the same key keeps the first (a retried start). */
  createRelease(record: ReleaseRecord): Promise<void>;
  /**
   * Set fields of the record. With `unlessAborted`, only while no rollback was asked for
   * (false when one was, and nothing is written).
   */
  updateRelease(
    key: ReleaseKey,
    changes: Partial<Omit<ReleaseRecord, keyof ReleaseKey>>,
    opts?: { unlessAborted?: boolean },
  ): Promise<boolean>;
  getRelease(key: ReleaseKey): Promise<ReleaseRecord | undefined>;
  /** The model's most recent release. */
  latestRelease(model: string): Promise<ReleaseRecord | undefined>;
  /** Record one check (overwrites the same step and check number: a retried check). */
  putCheck(key: ReleaseKey, check: HealthCheckRecord): Promise<void>;
  /** The release's checks, oldest first. */
  listChecks(key: ReleaseKey): Promise<HealthCheckRecord[]>;
}

/** The lock target of an alias. */
export const lockTarget = (functionName: string, alias: string) => `${functionName}:${alias}`;

/** `flight-delay-v3-20261127T083647Z`: what a release's execution (and record) is named. */
export function releaseExecutionName(model: string, version: number, now: Date): string {
  const suffix = `-v${version}-${compactTime(now)}`;
  return `${model.slice(0, 80 - suffix.length)}${suffix}`;
}

/** `flight-delay-rollback-20261127T083647Z`. */
export function rollbackExecutionName(model: string, now: Date): string {
  const suffix = `-rollback-${compactTime(now)}`;
  return `${model.slice(0, 80 - suffix.length)}${suffix}`;
}

/** `20261127T083647Z`. */
const compactTime = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
