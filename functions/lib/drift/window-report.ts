// The drift check's stored verdict on one window of one model (`report.json` beside `report.html`
// under driftReportKeys): the drift report with what it was computed from and what the alert
// policy made of it. One home for its shape: the drift check writes it, the HTML page, the CLI
// and the retraining decision read it.
import type { CaptureCounts } from './capture-window.ts';
import type { DriftReport, DriftThresholds } from './drift-report.ts';

/** Bumped on any change a reader of an older report would misread. */
export const WINDOW_REPORT_FORMAT = 1;

/** The alert policy's decision for the window (see alert-policy.ts `nextAlertState`). */
export interface WindowAlert {
  /** The model's alert state after this window. */
  readonly state: 'ok' | 'pending' | 'alarm';
  /** Significant windows in a row, this one included. */
  readonly consecutive: number;
  /** K: significant windows in a row that raise the alarm. */
  readonly consecutiveWindows: number;
  readonly alarm: boolean;
  /** This window raised the alarm: it starts retraining. */
  readonly raised: boolean;
  /** This window cleared the alarm. */
  readonly cleared: boolean;
  readonly reason: string;
}

export interface DriftWindowReport {
  readonly formatVersion: typeof WINDOW_REPORT_FORMAT;
  readonly model: string;
  /** The Production version whose captures were compared, against its own training profile. */
  readonly version: number;
  /** `s3://` URI of that profile.json. */
  readonly profileUri: string;
  /** ISO-8601 UTC, start inclusive, end exclusive. */
  readonly window: { readonly start: string; readonly end: string };
  /** How the capture records of the window were read: what was used, skipped and why. */
  readonly records: CaptureCounts;
  /** The thresholds the window was judged with (defaults filled in). */
  readonly thresholds: DriftThresholds;
  /**
   * The alert decision for this window; null when the window precedes the last one the alert
   * policy applied and no earlier report of it recorded its decision (a late re-run of an old window).
   */
  readonly alert: WindowAlert | null;
  readonly drift: DriftReport;
}
