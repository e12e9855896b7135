// When drift pages: a per-model state machine over successive drift-check windows that raises the
// alarm only after K consecutive significant windows, so one noisy window never pages anyone.
import * as z from 'zod';
import type { DriftStatus } from './drift-report.ts';

/** `ok`: no drift outstanding; `pending`: drifted, fewer than K windows in a row; `alarm`: paging. */
export type AlertStateName = 'ok' | 'pending' | 'alarm';

/** What is stored per model between scheduled runs (the output of `nextAlertState` will do). */
export const AlertStateSchema = z.object({
  state: z.enum(['ok', 'pending', 'alarm']),
  /** Significant windows in a row, up to and including the last one judged. */
  consecutive: z.number().int().min(0),
  /** The last window applied; a window that does not sort after it is ignored. */
  lastWindow: z.string().optional(),
  /** The reference the count was made against; another one starts the count afresh. */
  reference: z.string().optional(),
});
export type AlertState = z.output<typeof AlertStateSchema>;

/** The state before any window. */
export const INITIAL_ALERT_STATE: AlertState = { state: 'ok', consecutive: 0 };

export const AlertPolicySchema = z.object({
  /**
   * K: significant windows in a row before the alarm is raised. With 2, a window drawn from the
   * reference distribution must cross the significant threshold twice running, which at the
   * default thresholds and window sizes practically never happens, while a real shift that
   * persists pages one window later than it would with 1.
   */
  consecutiveWindows: z.number().int().min(1).default(2),
});
export type AlertPolicy = z.output<typeof AlertPolicySchema>;
export type AlertPolicyInput = z.input<typeof AlertPolicySchema>;

/** One window's drift verdict, e.g. a `DriftReport` with the window and reference it was for. */
export interface WindowResult {
  readonly status: DriftStatus;
  /** The report's reason, carried into the alert's reason. */
  readonly reason?: string;
  /**
   * Identifies the window, sorting in time order (e.g. its end as ISO-8601 UTC). A window equal to
   * or before the last one applied is ignored, so a retried or duplicated check never counts twice.
   */
  readonly window?: string;
  /** Identifies the reference compared against (e.g. the model version); when it changes, counting restarts. */
  readonly reference?: string;
}

export interface AlertDecision extends AlertState {
  /** The alarm is on after this window (state `alarm`). */
  readonly alarm: boolean;
  /** This window turned the alarm on: the moment to page and to start retraining. */
  readonly raised: boolean;
  /** This window turned the alarm off. */
  readonly cleared: boolean;
  readonly reason: string;
}

/**
 * The alert state after one more window. Pure: store the result (it parses with `AlertStateSchema`)
 * and pass it back as `previous` next time.
 *
 * - `significant` counts: after K in a row the alarm is raised (K = 1 raises at once).
 * - `stable` resets the count and clears the alarm.
 * - `watch` resets the count of a pending drift but holds a raised alarm (hysteresis): an alarm
 *   clears only once the data is back to stable, so a drift hovering around the significant
 *   threshold pages once, not every other window.
 * - `insufficient-data` neither counts nor resets: a window too small to judge says nothing either
 *   way. Letting it reset would let alternating thin windows hide a persistent drift; letting it
 *   count would page on windows nobody could judge. So "consecutive" means consecutive among the
 *   windows that could be judged (nor does a missed scheduled run break a run of windows).
 * - A window id not after the stored one leaves the state as it is; a new `reference` starts from
 *   `ok` (an alarm on the old reference is reported as cleared).
 */
export function nextAlertState(
  previous: AlertState | undefined,
  result: WindowResult,
  policy: AlertPolicyInput = {},
): AlertDecision {
  const { consecutiveWindows: k } = AlertPolicySchema.parse(policy);
  const fresh = !previous || previous.reference !== result.reference;
  const before: AlertState = fresh ? INITIAL_ALERT_STATE : previous;
  const why = result.reason ? `: ${result.reason}` : '';
  // Raised and cleared compare with what was stored, so an alarm dropped by a new reference is cleared.
  const wasAlarm = previous?.state === 'alarm';
  const restarted =
    fresh && previous ? `new reference ${result.reference ?? '(none)'}, count restarted; ` : '';
  const decide = (state: AlertState, reason: string): AlertDecision => {
    const next: AlertState = {
      state: state.state,
      consecutive: state.consecutive,
      ...(state.lastWindow === undefined ? {} : { lastWindow: state.lastWindow }),
      ...(state.reference === undefined ? {} : { reference: state.reference }),
    };
    const alarm = next.state === 'alarm';
    return {
      ...next,
      alarm,
      raised: alarm && !wasAlarm,
      cleared: !alarm && wasAlarm,
      reason: restarted + reason,
    };
  };

  if (
    !fresh &&
    result.window !== undefined &&
    before.lastWindow !== undefined &&
    result.window <= before.lastWindow
  ) {
    return decide(
      before,
      `window ${result.window} already applied (last ${before.lastWindow}); state unchanged`,
    );
  }
  const stamp = {
    ...(result.window === undefined ? {} : { lastWindow: result.window }),
    ...(result.reference === undefined ? {} : { reference: result.reference }),
  };
  switch (result.status) {
    case 'insufficient-data':
      return decide({ ...before, ...stamp }, `insufficient data, neither counted nor reset${why}`);
    case 'significant': {
      const consecutive = before.consecutive + 1;
      if (before.state === 'alarm') {
        return decide(
          { state: 'alarm', consecutive, ...stamp },
          `drift persists (${consecutive} in a row)${why}`,
        );
      }
      if (consecutive >= k) {
        return decide(
          { state: 'alarm', consecutive, ...stamp },
          `alarm: ${consecutive} significant windows in a row (K = ${k})${why}`,
        );
      }
      return decide(
        { state: 'pending', consecutive, ...stamp },
        `drifted window ${consecutive} of ${k} needed${why}`,
      );
    }
    case 'watch':
      if (before.state === 'alarm') {
        return decide({ state: 'alarm', consecutive: 0, ...stamp }, `alarm held until stable${why}`);
      }
      return decide({ state: 'ok', consecutive: 0, ...stamp }, `watch, not drifted${why}`);
    case 'stable':
      return decide(
        { state: 'ok', consecutive: 0, ...stamp },
        before.state === 'alarm' ? `alarm cleared: stable${why}` : `stable${why}`,
      );
  }
}
