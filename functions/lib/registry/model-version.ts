// The model registry's domain: what a registered version is, its stages, and the port
// adapters implement. Storage-free so use cases and tests can use it directly.

/** Lifecycle stage of a model version (MLflow's vocabulary, which users already know). */
export type Stage = 'None' | 'Staging' | 'Production' | 'Archived';

/** Everything needed to reproduce and audit a version: the artifact and its lineage. */
export interface ModelVersion {
  readonly model: string;
  readonly version: number;
  readonly stage: Stage;
  readonly artifactUri: string;
  readonly artifactSha256: string;
  readonly featureSet: string;
  readonly trainingRunId: string;
  readonly datasetUri: string;
  readonly datasetSha256: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly createdBy: string;
  /** Commit of the training code, when the run knew it. */
  readonly gitCommit?: string;
}

/** What a trainer hands to the registry, with the number it got from `allocateVersion`. */
export type NewModelVersion = Omit<ModelVersion, 'stage' | 'createdAt'> & { readonly stage?: Stage };

/** One line per model for listings. */
export interface ModelSummary {
  readonly model: string;
  readonly latestVersion: number;
  readonly productionVersion?: number;
  /** Bumped by every stage change; the compare-and-set token for promotions. */
  readonly stageRevision: number;
}

/** One registry change, as the audit trail keeps it. */
export interface AuditEvent {
  readonly model: string;
  readonly at: string;
  readonly action: 'register' | 'promote' | 'archive';
  readonly version: number;
  readonly actor: string;
  /** Promotions: the version it replaced, if any. */
  readonly previousVersion?: number | null;
  readonly stage?: Stage;
  readonly reason?: string | null;
}

/** Port: the registry as use cases see it. */
export interface ModelRegistry {
  getModel(model: string): Promise<ModelSummary | undefined>;
  getVersion(model: string, version: number): Promise<ModelVersion | undefined>;
  getProductionVersion(model: string): Promise<ModelVersion | undefined>;
  listModels(): Promise<ModelSummary[]>;
  listVersions(model: string): Promise<ModelVersion[]>;
  /**
   * The version number for a training run's artifacts. Idempotent by `trainingRunId`: a retried
   * run gets the number it got the first time, so its artifacts land at the same keys.
   */
  allocateVersion(model: string, trainingRunId: string): Promise<number>;
  /**
   * Record a version and its audit event. Conditional put: registering it again returns what is
   * stored (the first registration wins) and writes the audit event if an earlier attempt did not.
   */
  registerVersion(input: NewModelVersion): Promise<ModelVersion>;
  /**
   * Make `version` the one Production version. A single conditional write on the model's head
   * item decides, so of two concurrent promotions exactly one wins (the other gets ConflictError).
   * Pass `expectedRevision` (from `getModel`) to fail if anything changed since the caller looked.
   * Promoting the current Production version without `expectedRevision` changes nothing but
   * completes that promotion's stage fields and audit event, so a failed call can be retried.
   */
  promoteToProduction(
    model: string,
    version: number,
    opts: { actor: string; reason?: string; expectedRevision?: number },
  ): Promise<ModelVersion>;
  /**
   * Move a version that is not Production to Archived (a Staging challenger that lost, an old
   * champion already replaced). Decided by the same conditional write on the head item as
   * promotions, so it cannot interleave with one; the Production version is refused
   * (ConflictError): promote another version first. Archiving an Archived version is a no-op.
   */
  archiveVersion(
    model: string,
    version: number,
    opts: { actor: string; reason?: string; expectedRevision?: number },
  ): Promise<ModelVersion>;
  /** The model's audit trail, oldest first. */
  listAuditEvents(model: string): Promise<AuditEvent[]>;
}
