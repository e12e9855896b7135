// Applies one drift window to a model's stored alert state (alert-policy.ts `nextAlertState`)
// exactly once, however often the window is checked and however many checks race: compare-and-set
// on the stored revision, and the stored decision replayed for a window already applied.
import { type AlertDecision, nextAlertState } from '../lib/drift/alert-policy.ts';
import type { AlertStateStore, StoredAlertState } from '../lib/drift/alert-state-store.ts';
import type { DriftStatus } from '../lib/drift/drift-report.ts';
import type { DriftWindowReport, WindowAlert } from '../lib/drift/window-report.ts';
import { ConflictError } from '../lib/errors.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';

/** How the window's alert decision was reached. */
export type AlertOutcome =
  /** Applied now and stored. */
  | 'applied'
  /** The window is the last one applied: its stored decision is reported (and acted on) again. */
  | 'replayed'
  /** The window precedes the last one applied: the state was left alone. */
  | 'stale';

export interface WindowAlertInput {
  readonly model: string;
  /** The window's verdict. */
  readonly drift: { readonly status: DriftStatus; readonly reason: string };
  /** The window's end, ISO-8601 UTC: windows sort by it. */
  readonly windowEnd: string;
  /** What the window was compared against (`v{version}`): another reference restarts the count. */
  readonly reference: string;
  /** K. */
  readonly consecutiveWindows: number;
}

export interface WindowAlertPorts {
  readonly alerts: AlertStateStore;
  readonly log: (message: string, data: Record<string, unknown>) => void;
}

/** Compare-and-set attempts on a model's alert state before giving up. */
const ALERT_WRITE_ATTEMPTS = 5;

const toWindowAlert = (
  decision: Pick<AlertDecision, 'state' | 'consecutive' | 'raised' | 'cleared' | 'reason'>,
  consecutiveWindows: number,
): WindowAlert => ({
  state: decision.state,
  consecutive: decision.consecutive,
  consecutiveWindows,
  alarm: decision.state === 'alarm',
  raised: decision.raised,
  cleared: decision.cleared,
  reason: decision.reason,
});

/**
 * Apply the window to the model's alert state by compare-and-set: of two checks of one window
 * racing, one applies it and the other, re-reading, finds it applied and replays its decision.
 * A window equal to the stored last one replays the stored decision, so a re-run (or a retry
 * after a failure further on) reports the same and re-issues the same retraining start, which the
 * execution name makes a no-op if it got through the first time. `alert` is null for a stale window.
 */
export async function decideWindowAlert(
  input: WindowAlertInput,
  ports: WindowAlertPorts,
): Promise<{ alert: WindowAlert | null; outcome: AlertOutcome }> {
  const { model, drift, windowEnd, reference, consecutiveWindows: k } = input;
  for (let attempt = 1; attempt <= ALERT_WRITE_ATTEMPTS; attempt++) {
    const stored = await ports.alerts.get(model);
    const decision = nextAlertState(
      stored,
      { status: drift.status, reason: drift.reason, window: windowEnd, reference },
      { consecutiveWindows: k },
    );
    const applies =
      !stored || decision.lastWindow !== stored.lastWindow || decision.reference !== stored.reference;
    if (!applies) return replay(stored, windowEnd, k);
    const written = await ports.alerts.put(
      model,
      {
        state: decision.state,
        consecutive: decision.consecutive,
        ...(decision.lastWindow === undefined ? {} : { lastWindow: decision.lastWindow }),
        ...(decision.reference === undefined ? {} : { reference: decision.reference }),
        decision: {
          status: drift.status,
          raised: decision.raised,
          cleared: decision.cleared,
          reason: decision.reason,
        },
      },
      stored?.revision,
    );
    if (written) return { alert: toWindowAlert(decision, k), outcome: 'applied' };
    ports.log('alert state changed while deciding; deciding again', {
      model,
      window: windowEnd,
      attempt,
    });
  }
  throw new ConflictError(
    `the drift alert state of ${model} kept changing under ${ALERT_WRITE_ATTEMPTS} attempts to apply window ${windowEnd}`,
  );
}

function replay(
  stored: StoredAlertState,
  windowEnd: string,
  k: number,
): { alert: WindowAlert | null; outcome: AlertOutcome } {
  if (stored.lastWindow === windowEnd && stored.decision)
    return { alert: toWindowAlert({ ...stored, ...stored.decision }, k), outcome: 'replayed' };
  return { alert: null, outcome: 'stale' };
}

/** The alert decision an earlier report of this window recorded, if one exists. */
export async function earlierAlert(reports: ObjectStore, key: string): Promise<WindowAlert | null> {
  let bytes: Uint8Array;
  try {
    bytes = await reports.read(key);
  } catch (err) {
    if (['NoSuchKey', 'NotFound'].includes((err as Error).name)) return null;
    throw err;
  }
  try {
    const earlier = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<DriftWindowReport>;
    return earlier.alert ?? null;
  } catch {
    return null;
  }
}
