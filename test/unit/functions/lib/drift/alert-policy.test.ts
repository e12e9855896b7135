import { describe, expect, it } from 'vitest';
import {
  type AlertDecision,
  type AlertPolicyInput,
  type AlertState,
  AlertStateSchema,
  INITIAL_ALERT_STATE,
  nextAlertState,
  type WindowResult,
} from '../../../../../functions/lib/drift/alert-policy.ts';
import {
  compareToProfile,
  type DriftStatus,
  type DriftThresholdsInput,
} from '../../../../../functions/lib/drift/drift-report.ts';
import {
  buildProfile,
  type Profile,
  profilePredictions,
} from '../../../../../functions/lib/drift/profile.ts';
import { seededNormal, seededRandom } from '../training/seeded-random.ts';

/** Applies `statuses` in turn from the initial state, windows numbered w01, w02, …; returns every decision. */
function run(
  statuses: readonly DriftStatus[],
  policy?: AlertPolicyInput,
  start?: AlertState,
): AlertDecision[] {
  const decisions: AlertDecision[] = [];
  let state = start;
  statuses.forEach((status, i) => {
    const decision = nextAlertState(state, { status, window: `w${String(i + 1).padStart(2, '0')}` }, policy);
    decisions.push(decision);
    state = decision;
  });
  return decisions;
}

const states = (decisions: readonly AlertDecision[]) => decisions.map((d) => d.state);

describe('nextAlertState', () => {
  it('raises the alarm on the second significant window in a row, once, and clears it when stable', () => {
    const decisions = run(['significant', 'significant', 'significant', 'stable']);
    expect(states(decisions)).toEqual(['pending', 'alarm', 'alarm', 'ok']);
    expect(decisions.map((d) => d.consecutive)).toEqual([1, 2, 3, 0]);
    expect(decisions.map((d) => d.alarm)).toEqual([false, true, true, false]);
    expect(decisions.map((d) => d.raised)).toEqual([false, true, false, false]);
    expect(decisions.map((d) => d.cleared)).toEqual([false, false, false, true]);
    expect(decisions[1]!.reason).toBe('alarm: 2 significant windows in a row (K = 2)');
    expect(decisions[3]!.reason).toBe('alarm cleared: stable');
  });

  it('starts from ok without a previous state', () => {
    expect(nextAlertState(undefined, { status: 'stable' })).toEqual({
      ...INITIAL_ALERT_STATE,
      alarm: false,
      raised: false,
      cleared: false,
      reason: 'stable',
    });
  });

  it('resets a pending drift on a stable or watch window', () => {
    expect(states(run(['significant', 'stable', 'significant', 'watch', 'significant']))).toEqual([
      'pending',
      'ok',
      'pending',
      'ok',
      'pending',
    ]);
  });

  it('neither counts nor resets on insufficient data', () => {
    const decisions = run(['significant', 'insufficient-data', 'insufficient-data', 'significant']);
    expect(states(decisions)).toEqual(['pending', 'pending', 'pending', 'alarm']);
    expect(decisions.map((d) => d.consecutive)).toEqual([1, 1, 1, 2]);
    expect(decisions[1]!.reason).toBe('insufficient data, neither counted nor reset');
    expect(states(run(['insufficient-data', 'insufficient-data', 'insufficient-data']))).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    // nor does it clear a raised alarm
    expect(states(run(['significant', 'significant', 'insufficient-data']))).toEqual([
      'pending',
      'alarm',
      'alarm',
    ]);
  });

  it('holds a raised alarm through watch windows, so drift hovering at the threshold pages once', () => {
    const decisions = run(['significant', 'significant', 'watch', 'significant', 'watch', 'stable']);
    expect(states(decisions)).toEqual(['pending', 'alarm', 'alarm', 'alarm', 'alarm', 'ok']);
    expect(decisions.filter((d) => d.raised)).toHaveLength(1);
    expect(decisions[2]!.reason).toBe('alarm held until stable');
  });

  it('honours K', () => {
    expect(states(run(['significant'], { consecutiveWindows: 1 }))).toEqual(['alarm']);
    expect(run(['significant'], { consecutiveWindows: 1 })[0]!.raised).toBe(true);
    expect(states(run(['significant', 'significant', 'significant'], { consecutiveWindows: 3 }))).toEqual([
      'pending',
      'pending',
      'alarm',
    ]);
    expect(() => nextAlertState(undefined, { status: 'stable' }, { consecutiveWindows: 0 })).toThrow();
  });

  it('ignores a window already applied, or an older one, so a retried check never counts twice', () => {
    const first = nextAlertState(undefined, { status: 'significant', window: '2026-11-02T10:00Z' });
    const again = nextAlertState(first, { status: 'significant', window: '2026-11-02T10:00Z' });
    expect(again).toMatchObject({ state: 'pending', consecutive: 1, alarm: false, raised: false });
    expect(again.reason).toMatch(/already applied/);
    const older = nextAlertState(first, { status: 'significant', window: '2026-11-02T09:00Z' });
    expect(older).toMatchObject({ state: 'pending', consecutive: 1, lastWindow: '2026-11-02T10:00Z' });
    const next = nextAlertState(again, { status: 'significant', window: '2026-11-02T11:00Z' });
    expect(next).toMatchObject({
      state: 'alarm',
      consecutive: 2,
      raised: true,
      lastWindow: '2026-11-02T11:00Z',
    });
  });

  it('starts the count afresh against a new reference (a newly promoted version)', () => {
    const pending = nextAlertState(undefined, { status: 'significant', window: 'w1', reference: 'v1' });
    const after = nextAlertState(pending, { status: 'significant', window: 'w2', reference: 'v2' });
    expect(after).toMatchObject({ state: 'pending', consecutive: 1, reference: 'v2' });
    expect(after.reason).toBe('new reference v2, count restarted; drifted window 1 of 2 needed');
    const alarm = nextAlertState(after, { status: 'significant', window: 'w3', reference: 'v2' });
    expect(alarm).toMatchObject({ state: 'alarm', raised: true });
    // an earlier window id is no obstacle under a new reference, and the old alarm is cleared
    expect(nextAlertState(alarm, { status: 'stable', window: 'w1', reference: 'v3' })).toMatchObject({
      state: 'ok',
      cleared: true,
      lastWindow: 'w1',
    });
  });

  it('carries the window reason and stores as JSON that parses back into the state', () => {
    const result: WindowResult = {
      status: 'significant',
      reason: 'significant: distance (PSI 0.520 > 0.25)',
    };
    const decision = nextAlertState(undefined, result);
    expect(decision.reason).toBe('drifted window 1 of 2 needed: significant: distance (PSI 0.520 > 0.25)');
    const stored = AlertStateSchema.parse(JSON.parse(JSON.stringify(decision)));
    expect(stored).toEqual({ state: 'pending', consecutive: 1 });
    expect(nextAlertState(stored, result)).toMatchObject({ state: 'alarm', raised: true });
    expect(() => AlertStateSchema.parse({ state: 'paging', consecutive: 1 })).toThrow();
  });
});

/** 20 origins with Zipf-like shares, as a flights table has. */
const ORIGINS = Array.from({ length: 20 }, (_, i) => `O${String(i).padStart(2, '0')}`);
const ZIPF = ORIGINS.map((_, i) => 1 / (i + 1));
const ZIPF_TOTAL = ZIPF.reduce((a, b) => a + b, 0);

/** Flights-like rows (distance N(1100, 600²), delay N(10, 30²) with 2% nulls, origin) and a score each. */
function traffic(n: number, seed: number, distanceShift = 0) {
  const uniform = seededRandom(seed);
  const normal = seededNormal(uniform);
  const origin = () => {
    let u = uniform() * ZIPF_TOTAL;
    for (const [i, w] of ZIPF.entries()) {
      u -= w;
      if (u < 0) return ORIGINS[i]!;
    }
    return ORIGINS[ORIGINS.length - 1]!;
  };
  const rows = Array.from({ length: n }, () => ({
    distance: 1100 + 600 * (normal() + distanceShift),
    delay: uniform() < 0.02 ? null : 10 + 30 * normal(),
    origin: origin(),
  }));
  const scores = rows.map(
    (r) => 1 / (1 + Math.exp(-(((r.delay ?? 10) - 10) / 30 + (r.distance - 1100) / 600))),
  );
  return { rows, scores };
}

const reference = traffic(20_000, 1);
const profile: Profile = {
  ...buildProfile({
    fields: { delay: 'numeric', distance: 'numeric', origin: 'categorical' },
    rows: reference.rows,
  }),
  prediction: profilePredictions(reference.scores),
};

/** Runs windows through the drift check and the alert policy, windows numbered from `first`. */
function monitor(
  windows: number,
  window: (i: number) => ReturnType<typeof traffic>,
  opts: { thresholds?: DriftThresholdsInput; start?: AlertState; first?: number } = {},
) {
  let state = opts.start;
  const decisions: AlertDecision[] = [];
  const statuses: DriftStatus[] = [];
  for (let i = 0; i < windows; i++) {
    const report = compareToProfile(profile, window(i), opts.thresholds);
    const id = `w${String((opts.first ?? 0) + i).padStart(4, '0')}`;
    const decision = nextAlertState(state, {
      status: report.status,
      reason: report.reason,
      window: id,
      reference: 'v1',
    });
    decisions.push(decision);
    statuses.push(report.status);
    state = decision;
  }
  return { decisions, statuses, last: decisions.at(-1)! };
}

describe('drift alarms on simulated traffic', () => {
  it('keeps the false-alarm rate at or below 5% over 400 windows from the reference distribution', () => {
    const { decisions, statuses } = monitor(400, (i) => traffic(2_000, 1_000 + i));
    const rate = (pred: (d: AlertDecision) => boolean) => decisions.filter(pred).length / decisions.length;
    expect(rate((d) => d.alarm)).toBeLessThanOrEqual(0.05);
    expect(rate((d) => d.raised)).toBeLessThanOrEqual(0.05);
    // The noise floor is far below the thresholds: PSI ≈ (bins − 1)/2,000 ≈ 0.005–0.01.
    expect(statuses.filter((s) => s === 'significant').length).toBe(0);
    expect(statuses.filter((s) => s === 'watch').length / statuses.length).toBeLessThanOrEqual(0.05);
  });

  it('alarms on a real covariate shift within 2 windows, and not before K', () => {
    const before = monitor(5, (i) => traffic(2_000, 2_000 + i));
    expect(before.last.alarm).toBe(false);
    const shifted = monitor(3, (i) => traffic(2_000, 3_000 + i, 0.75), { start: before.last, first: 5 });
    expect(shifted.decisions.map((d) => d.state)).toEqual(['pending', 'alarm', 'alarm']);
    expect(shifted.decisions[1]!.raised).toBe(true);
    expect(shifted.decisions[1]!.reason).toMatch(/distance \(PSI/);
  });

  it('alarms on half a σ of shift within 3 windows once the threshold is set for it', () => {
    // PSI of a 0.5 σ shift on deciles is about 0.24, just under the default 0.25
    const thresholds = { fields: { distance: { psi: { watch: 0.1, significant: 0.2 } } } };
    const shifted = monitor(3, (i) => traffic(2_000, 4_000 + i, 0.5), { thresholds });
    const first = shifted.decisions.findIndex((d) => d.raised);
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(2);
  });
});
