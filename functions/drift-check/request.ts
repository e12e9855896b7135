// What the drift check is asked to do: the EventBridge schedule's "Scheduled Event" (check every
// model on the last full window before the event's time) or a direct invocation from the CLI or
// the local demo (`{ model?, window? }`). Parsed at the edge; bad input is an InvalidRequest that
// names the field.
import * as z from 'zod';
import { InvalidRequest } from '../lib/errors.ts';
import { ModelName } from '../lib/schemas/model-name.ts';
import { toFieldIssues } from '../lib/schemas/zod-issues.ts';

/** A capture window: start inclusive, end exclusive. */
export interface DriftWindowRange {
  readonly start: Date;
  readonly end: Date;
}

export interface DriftCheckRequest {
  /** Check only this model; every model with a Production version when absent. */
  readonly model?: string;
  readonly window: DriftWindowRange;
}

/** How windows are cut from a point in time. */
export interface WindowSettings {
  /** Window length; divides a day or is whole days, so windows line up with UTC days. */
  readonly windowMinutes: number;
  /**
   * How long after a window ends its records may still be arriving (the delivery stream's
   * buffering): a window is only "full" this long after its end.
   */
  readonly delayMinutes: number;
}

const MINUTE = 60_000;
const DAY_MINUTES = 1440;
/** Longest direct window: bounds what one invocation reads. */
export const MAX_WINDOW_DAYS = 31;
/** Clock skew allowed between the caller and the function when checking that a window is over. */
const CLOCK_SKEW_MS = MINUTE;

/** Zod schema of a window length in minutes (`DRIFT_WINDOW_MINUTES`). */
export const WindowMinutes = z.coerce
  .number()
  .int()
  .min(1)
  .max(7 * DAY_MINUTES)
  .refine(
    (m) => DAY_MINUTES % m === 0 || m % DAY_MINUTES === 0,
    'window minutes must divide a day (e.g. 15, 60, 360) or be whole days',
  );

/** The last full window of `settings.windowMinutes` ending at or before `time − delay`, aligned to the epoch (UTC). */
export function lastFullWindow(time: Date, settings: WindowSettings): DriftWindowRange {
  const length = settings.windowMinutes * MINUTE;
  const end = Math.floor((time.getTime() - settings.delayMinutes * MINUTE) / length) * length;
  return { start: new Date(end - length), end: new Date(end) };
}

const ScheduledEvent = z.looseObject({
  'detail-type': z.literal('Scheduled Event'),
  time: z.iso.datetime({ offset: true }),
});

const bothTimes = (w: { start: string; end: string }) =>
  !Number.isNaN(Date.parse(w.start)) && !Number.isNaN(Date.parse(w.end));

const WindowInput = z
  .strictObject({
    start: z.iso.datetime({ offset: true }),
    end: z.iso.datetime({ offset: true }),
  })
  // Zod runs refinements over invalid fields too: judge the span only when both ends are times.
  .refine((w) => !bothTimes(w) || Date.parse(w.start) < Date.parse(w.end), {
    message: 'start must be before end',
    path: ['end'],
  })
  .refine(
    (w) => !bothTimes(w) || Date.parse(w.end) - Date.parse(w.start) <= MAX_WINDOW_DAYS * DAY_MINUTES * MINUTE,
    {
      message: `a window spans at most ${MAX_WINDOW_DAYS} days`,
      path: ['end'],
    },
  );

const DirectInvocation = z.strictObject({
  model: ModelName.optional(),
  window: WindowInput.optional(),
});

function invalid(what: string, error: z.ZodError, prefix: readonly PropertyKey[] = []): InvalidRequest {
  const issues = toFieldIssues(error, prefix);
  return new InvalidRequest(
    `invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  );
}

/**
 * The request in a Lambda event: a "Scheduled Event" checks every model on the last full window
 * before its `time`; a direct invocation checks `model` (or every model) on `window` (or the last
 * full window before `now`). Throws InvalidRequest naming each bad field.
 */
export function parseDriftCheckEvent(
  event: unknown,
  settings: WindowSettings & { readonly now: Date },
): DriftCheckRequest {
  if (typeof event === 'object' && event !== null && Object.hasOwn(event, 'detail-type')) {
    const scheduled = ScheduledEvent.safeParse(event);
    if (!scheduled.success)
      throw invalid('EventBridge event (expected a "Scheduled Event")', scheduled.error);
    return { window: lastFullWindow(new Date(scheduled.data.time), settings) };
  }
  // An invocation without a payload arrives as null (or {}): every model, the last full window.
  const parsed = DirectInvocation.safeParse(event ?? {});
  if (!parsed.success) throw invalid('drift check request', parsed.error);
  const { model, window } = parsed.data;
  if (window && Date.parse(window.end) > settings.now.getTime() + CLOCK_SKEW_MS) {
    throw new InvalidRequest(
      `invalid drift check request: window.end: ${window.end} is in the future; a window is checked once it is over`,
      [{ path: 'window.end', message: 'in the future' }],
    );
  }
  return {
    ...(model === undefined ? {} : { model }),
    window: window
      ? { start: new Date(window.start), end: new Date(window.end) }
      : lastFullWindow(settings.now, settings),
  };
}
