// What a model release does, step by step: the strategies, their canary plans, bake times and how
// often a bake is checked, and how a release's settings are chosen (the request, then the model's
// policy, then the deployment's defaults, then the built-in ones). Pure: the CLI, the construct
// (a bad policy fails synth) and the release functions share it.
import * as z from 'zod';
import { InvalidRequest } from '../errors.ts';
import {
  DEFAULT_DECISION_POLICY,
  DEFAULT_SLICE_PERCENT,
  DecisionPolicy,
  DecisionPolicyOverrides,
  parseSlice,
} from './champion-challenger.ts';
import { DEFAULT_THRESHOLDS, HealthThresholds } from './health.ts';

/**
 * The strategy that decides on outcomes: the challenger serves a fixed slice until the decision
 * window has passed, and takes the rest only if it beat the champion on the agreed metric
 * (functions/lib/releases/champion-challenger.ts). Its plan is [slice, 100].
 */
export const CHAMPION_CHALLENGER_STRATEGY = 'champion-challenger';

/** Strategies that move the `live` alias to the challenger. */
export const STRATEGIES = [
  'canary',
  'linear',
  'all-at-once',
  'blue-green',
  CHAMPION_CHALLENGER_STRATEGY,
] as const;
/** How traffic moves to the challenger: a ramp of weights, or one flip of the whole alias. */
export type Strategy = (typeof STRATEGIES)[number];

/**
 * The strategy that moves no traffic: the challenger answers asynchronous copies of live requests
 * on the `shadow` alias for a window (the release's bake), and a comparison report judges it.
 */
export const SHADOW_STRATEGY = 'shadow';
/** Every strategy a release request may name. */
export const RELEASE_STRATEGIES = [...STRATEGIES, SHADOW_STRATEGY] as const;
export type ReleaseStrategy = (typeof RELEASE_STRATEGIES)[number];

/** Percent of traffic on the challenger at each step; the last step is always 100. */
export const DEFAULT_PLANS: Readonly<Record<Strategy, readonly number[]>> = {
  canary: [5, 25, 50, 100],
  linear: [25, 50, 75, 100],
  'all-at-once': [100],
  'blue-green': [100],
  [CHAMPION_CHALLENGER_STRATEGY]: [DEFAULT_SLICE_PERCENT, 100],
};

/** Strategies that move the alias whole in one step: their plan is [100]. */
const WHOLE_FLIP: ReadonlySet<Strategy> = new Set(['all-at-once', 'blue-green']);

export const DEFAULT_BAKE_SECONDS = 300;
/** A step's bake may last at most this long (a release of 10 steps then fits the machine's timeout). */
export const MAX_BAKE_SECONDS = 6 * 3600;
/** Longest shadow window: a week of copies is plenty to judge, and bounds the report's reading. */
export const MAX_SHADOW_SECONDS = 7 * 86_400;
/** A shadow's window when its request names no bake (and the deployment sets none). */
export const DEFAULT_SHADOW_WINDOW_SECONDS = 3_600;
/** Longest wait after a shadow window for its last capture records. */
export const MAX_SETTLE_SECONDS = 3_600;
export const MAX_STEPS = 10;
/** Checks during a bake come this often by default at most, so a failing canary is caught early. */
export const DEFAULT_MAX_CHECK_INTERVAL_SECONDS = 30;
export const MAX_CHECK_INTERVAL_SECONDS = 600;
/**
 * Health checks one release may make: each adds ~9 events to the execution's history, which a
 * Standard workflow caps at 25,000. Long releases check less often instead.
 */
export const MAX_CHECKS = 2_000;

/** A strategy name, with the list of valid ones in the error. */
export const StrategyName = z.enum(STRATEGIES, {
  error: (issue) => `strategy must be one of ${STRATEGIES.join(', ')} (got ${JSON.stringify(issue.input)})`,
});

/** A strategy a release request names (`--strategy`). */
export const ReleaseStrategyName = z.enum(RELEASE_STRATEGIES, {
  error: (issue) =>
    `strategy must be one of ${RELEASE_STRATEGIES.join(', ')} (got ${JSON.stringify(issue.input)})`,
});

/** A canary plan: increasing percentages in (0, 100], ending at 100. */
export const CanaryPlan = z
  .array(z.number().gt(0, 'a step must move some traffic').max(100, 'a step is at most 100 percent'))
  .min(1, 'a plan has at least one step')
  .max(MAX_STEPS, `a plan has at most ${MAX_STEPS} steps`)
  .refine((plan) => plan.every((p, i) => i === 0 || p > (plan[i - 1] ?? 0)), {
    message: 'plan percentages must increase step by step',
  })
  .refine((plan) => plan[plan.length - 1] === 100, { message: 'the last step of a plan must be 100' });

/** Seconds a step bakes for. */
export const BakeSeconds = z.number().int().min(0).max(MAX_BAKE_SECONDS);
export const CheckIntervalSeconds = z.number().int().min(1).max(MAX_CHECK_INTERVAL_SECONDS);

/** One level of release settings (the deployment's defaults, or one model's). */
export const ReleaseSettingsOverrides = z
  .object({
    strategy: StrategyName.optional(),
    /** Plans by strategy, replacing the built-in ones. */
    plans: z.partialRecord(StrategyName, CanaryPlan).optional(),
    bakeSeconds: BakeSeconds.optional(),
    checkIntervalSeconds: CheckIntervalSeconds.optional(),
    /** How a champion/challenger release decides (its window, metric, margins). */
    decision: DecisionPolicyOverrides.optional(),
  })
  .strict();
export type ReleaseSettingsOverrides = z.infer<typeof ReleaseSettingsOverrides>;

/** The deployment's release policy (env `RELEASE_POLICY`). */
export const ReleasePolicy = z
  .object({
    defaults: ReleaseSettingsOverrides.default({}),
    /** Settings per model, over the defaults. */
    models: z.record(z.string(), ReleaseSettingsOverrides).default({}),
    thresholds: HealthThresholds.partial().strict().default({}),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const levels: Array<[string[], ReleaseSettingsOverrides]> = [
      [['defaults'], policy.defaults],
      ...Object.entries(policy.models).map(([m, s]): [string[], ReleaseSettingsOverrides] => [
        ['models', m],
        s,
      ]),
    ];
    for (const [path, settings] of levels) {
      const split = settings.plans?.[CHAMPION_CHALLENGER_STRATEGY];
      if (split && !(split.length === 2 && split[1] === 100))
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'plans', CHAMPION_CHALLENGER_STRATEGY],
          message: `${CHAMPION_CHALLENGER_STRATEGY} serves a slice, then all: its plan is [slice, 100]`,
        });
      for (const strategy of WHOLE_FLIP) {
        const plan = settings.plans?.[strategy];
        if (plan && plan.join() !== '100')
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'plans', strategy],
            message: `${strategy} flips the whole alias: its plan is [100]`,
          });
      }
    }
  });
export type ReleasePolicy = z.infer<typeof ReleasePolicy>;

/** What one release runs with. */
export interface ReleaseSettings {
  readonly strategy: Strategy;
  readonly plan: readonly number[];
  readonly bakeSeconds: number;
  readonly checkIntervalSeconds: number;
  readonly thresholds: HealthThresholds;
  /** Champion/challenger only: how the slice's outcome is decided (its first step bakes `windowSeconds`). */
  readonly decision?: DecisionPolicy;
}

/** What a release request may choose (`mlops release … --strategy --plan --bake --settle`). */
export interface ReleaseRequestSettings {
  readonly strategy?: string;
  readonly plan?: string | readonly number[];
  /** A step's bake; for a shadow, its window. */
  readonly bake?: string | number;
  readonly checkInterval?: string | number;
  /** A shadow or champion/challenger: how long the report or decision waits after the window for the capture to land. */
  readonly settle?: string | number;
  /** Champion/challenger: the challenger's share of traffic during the window (`--slice 10`). */
  readonly slice?: string | number;
  /** Champion/challenger: how long the slice runs before the decision (`--window 24h`). */
  readonly window?: string | number;
  /** Champion/challenger: the agreed metric (`--metric auc|log-loss`). */
  readonly metric?: string;
}

/** Options only a champion/challenger release takes. */
const DECISION_OPTIONS = ['slice', 'window', 'metric'] as const;

/** What one shadow runs with. */
export interface ShadowSettings {
  /** How long live requests are copied to the challenger. */
  readonly windowSeconds: number;
  /** How long the report waits after the window; undefined: the deployment's (CAPTURE_SETTLE_SECONDS). */
  readonly settleSeconds?: number;
}

/** True when the request asks for a shadow (the release state machine's `Route`). */
export const isShadowRequest = (request: Pick<ReleaseRequestSettings, 'strategy'>) =>
  request.strategy === SHADOW_STRATEGY;

/**
 * The settings of a shadow release: its window is the request's bake, else `defaults.windowSeconds`.
 * A shadow moves no traffic and is judged once, so a plan or a check interval is refused.
 */
export function resolveShadowSettings(
  request: ReleaseRequestSettings,
  defaults: { readonly windowSeconds: number },
): ShadowSettings {
  if (request.plan !== undefined)
    throw new InvalidRequest('a shadow moves no traffic on the live alias: it takes no plan');
  if (request.checkInterval !== undefined)
    throw new InvalidRequest(
      'a shadow is judged once, by the comparison report after its window: it takes no check interval',
    );
  const windowSeconds =
    request.bake === undefined ? defaults.windowSeconds : parseDuration(request.bake, 'bake');
  if (windowSeconds < 1 || windowSeconds > MAX_SHADOW_SECONDS)
    throw new InvalidRequest(
      `a shadow's window (its bake) is 1 s to ${MAX_SHADOW_SECONDS / 86_400} days (got ${windowSeconds} s)`,
    );
  if (request.settle === undefined) return { windowSeconds };
  const settleSeconds = parseDuration(request.settle, 'settle');
  if (settleSeconds > MAX_SETTLE_SECONDS)
    throw new InvalidRequest(`settle is at most ${MAX_SETTLE_SECONDS / 60} minutes (got ${settleSeconds} s)`);
  return { windowSeconds, settleSeconds };
}

/**
 * Checks during a bake: a fifth of the longest, at least every 30 s, never more often than every
 * second — and rarer when a long release would otherwise make more than MAX_CHECKS.
 */
export function defaultCheckInterval(bakes: readonly number[]): number {
  const longest = Math.max(0, ...bakes);
  const total = bakes.reduce((sum, b) => sum + b, 0);
  const usual = Math.min(DEFAULT_MAX_CHECK_INTERVAL_SECONDS, Math.max(1, Math.floor(longest / 5)));
  return Math.min(
    MAX_CHECK_INTERVAL_SECONDS,
    Math.max(usual, Math.ceil(total / (MAX_CHECKS - bakes.length))),
  );
}

/** Checks a release makes at most: every step bakes in intervals, and checks at least once. */
export const checksOf = (bakes: readonly number[], intervalSeconds: number) =>
  bakes.reduce((sum, b) => sum + Math.max(1, Math.ceil(b / intervalSeconds)), 0);

/**
 * Seconds in `10s`, `5m`, `1h`, `1h30m` or a plain number of seconds; `what` names the option in
 * the error (`--bake`).
 */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') {
    if (Number.isInteger(text) && text >= 0) return text;
    throw new InvalidRequest(`${what} must be a whole number of seconds (got ${text})`);
  }
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(trimmed);
  if (!match || trimmed === '')
    throw new InvalidRequest(`${what} must look like 30s, 5m, 1h or 1h30m (got ${JSON.stringify(text)})`);
  const [, h = '0', m = '0', s = '0'] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/** `5,25,50,100` (or a list of numbers) as a checked plan. */
export function parsePlan(plan: string | readonly number[]): number[] {
  const steps =
    typeof plan === 'string'
      ? plan
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '')
          .map((p) => (/^\d+(\.\d+)?%?$/.test(p) ? Number(p.replace('%', '')) : Number.NaN))
      : [...plan];
  if (steps.some((s) => Number.isNaN(s)))
    throw new InvalidRequest(
      `plan must be comma-separated percentages like 5,25,50,100 (got ${JSON.stringify(plan)})`,
    );
  const parsed = CanaryPlan.safeParse(steps);
  if (!parsed.success)
    throw new InvalidRequest(
      `plan ${steps.join(',')}: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  return parsed.data;
}

/** The settings of one release: the request over the model's policy over the defaults. */
export function resolveSettings(
  model: string,
  request: ReleaseRequestSettings,
  policy: ReleasePolicy = ReleasePolicy.parse({}),
): ReleaseSettings {
  const own = policy.models[model] ?? {};
  const defaults = policy.defaults;
  const requested =
    request.strategy === undefined ? undefined : ReleaseStrategyName.safeParse(request.strategy);
  if (requested && !requested.success)
    throw new InvalidRequest(requested.error.issues[0]?.message ?? 'bad strategy');
  if (requested?.data === SHADOW_STRATEGY)
    throw new InvalidRequest(
      'strategy shadow moves no traffic on the live alias: the release state machine runs it with StartShadow, not as steps',
    );
  const strategy: Strategy = requested?.data ?? own.strategy ?? defaults.strategy ?? 'canary';
  const deciding = strategy === CHAMPION_CHALLENGER_STRATEGY;
  if (request.settle !== undefined && !deciding)
    throw new InvalidRequest(
      `settle is a setting of strategies shadow and ${CHAMPION_CHALLENGER_STRATEGY}: ${strategy} takes none`,
    );
  const misplaced = DECISION_OPTIONS.filter((o) => request[o] !== undefined);
  if (misplaced.length > 0 && !deciding)
    throw new InvalidRequest(
      `${misplaced.join(', ')}: only --strategy ${CHAMPION_CHALLENGER_STRATEGY} decides on a slice (${strategy} takes none)`,
    );
  let plan: readonly number[];
  if (deciding) {
    if (request.plan !== undefined)
      throw new InvalidRequest(
        `${CHAMPION_CHALLENGER_STRATEGY} serves a slice, then all: give the slice (--slice 10), not a plan`,
      );
    const slice =
      request.slice === undefined
        ? (own.plans?.[strategy] ?? defaults.plans?.[strategy] ?? DEFAULT_PLANS[strategy])[0]
        : parseSlice(request.slice);
    plan = [slice ?? DEFAULT_SLICE_PERCENT, 100];
  } else if (request.plan !== undefined) {
    plan = parsePlan(request.plan);
    if (WHOLE_FLIP.has(strategy) && plan.join() !== '100')
      throw new InvalidRequest(
        `${strategy} flips the whole alias at once: it takes no plan (got ${plan.join(',')})`,
      );
  } else plan = own.plans?.[strategy] ?? defaults.plans?.[strategy] ?? DEFAULT_PLANS[strategy];
  const bakeSeconds =
    request.bake === undefined
      ? (own.bakeSeconds ?? defaults.bakeSeconds ?? DEFAULT_BAKE_SECONDS)
      : parseDuration(request.bake, 'bake');
  if (bakeSeconds > MAX_BAKE_SECONDS)
    throw new InvalidRequest(`bake is at most ${MAX_BAKE_SECONDS / 3600} h per step (got ${bakeSeconds} s)`);
  const decision = deciding ? resolveDecision(request, own.decision, defaults.decision) : undefined;
  // Seconds each step bakes: a champion/challenger's slice bakes for its decision window.
  const bakes = plan.map((_, i) => (decision && i === 0 ? decision.windowSeconds : bakeSeconds));
  const checkIntervalSeconds =
    request.checkInterval === undefined
      ? (own.checkIntervalSeconds ?? defaults.checkIntervalSeconds ?? defaultCheckInterval(bakes))
      : parseDuration(request.checkInterval, 'check interval');
  if (!CheckIntervalSeconds.safeParse(checkIntervalSeconds).success)
    throw new InvalidRequest(
      `check interval must be 1 to ${MAX_CHECK_INTERVAL_SECONDS} s (got ${checkIntervalSeconds} s)`,
    );
  const checks = checksOf(bakes, checkIntervalSeconds);
  if (checks > MAX_CHECKS)
    throw new InvalidRequest(
      `${plan.length} steps baking ${bakes.map(formatDuration).join(', ')} checked every ${checkIntervalSeconds} s make ` +
        `${checks} checks, more than the ${MAX_CHECKS} one release may make: check less often or bake shorter`,
    );
  return {
    strategy,
    plan,
    bakeSeconds,
    checkIntervalSeconds,
    thresholds: { ...DEFAULT_THRESHOLDS, ...policy.thresholds },
    ...(decision ? { decision } : {}),
  };
}

/** A champion/challenger's decision policy: the request over the model's over the deployment's over the platform's. */
function resolveDecision(
  request: ReleaseRequestSettings,
  own: DecisionPolicyOverrides | undefined,
  defaults: DecisionPolicyOverrides | undefined,
): DecisionPolicy {
  const fromRequest: DecisionPolicyOverrides = {
    ...(request.window === undefined ? {} : { windowSeconds: parseDuration(request.window, 'window') }),
    ...(request.settle === undefined ? {} : { settleSeconds: parseDuration(request.settle, 'settle') }),
    ...(request.metric === undefined ? {} : { metric: request.metric as DecisionPolicy['metric'] }),
  };
  const parsed = DecisionPolicy.safeParse({
    ...DEFAULT_DECISION_POLICY,
    ...defaults,
    ...own,
    ...fromRequest,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    const what = { windowSeconds: 'window', settleSeconds: 'settle' }[field] ?? field;
    throw new InvalidRequest(`${what}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** `5% → 25% → 50% → 100%`. */
export const describePlan = (plan: readonly number[]) => plan.map((p) => `${p}%`).join(' → ');

/** `1h30m`, `5m`, `10s`. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
