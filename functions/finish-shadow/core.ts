// Release step FinishShadow: stop copying (the shadow item is marked finished; live functions see
// it within their cache TTL, and copies stop at `until` regardless), then compare the champion's
// live capture records of the window with the challenger's shadow records, write the comparison
// report beside the model's other release records, record its URI and verdict on the shadow item,
// and return them as the shadow release's outcome. Idempotent: a retry keeps the first finish and
// rewrites the same report key (one per shadow, by its start time).
import * as z from 'zod';
import type { CaptureObjects } from '../lib/capture/capture-reader.ts';
import { InvalidRequest } from '../lib/errors.ts';
import {
  type ComparisonCriteria,
  ComparisonCriteriaSchema,
  type ComparisonReport,
  type ComparisonVerdict,
  compareChampionChallenger,
  judgeComparison,
} from '../lib/releases/comparison-report.ts';
import { readShadowPairs, type ShadowPairs } from '../lib/releases/shadow-captures.ts';
import { type ShadowConfig, type ShadowConfigStore, ShadowNotFound } from '../lib/releases/shadow-config.ts';
import { type ObjectStore, writeJson } from '../lib/storage/object-store.ts';
import { shadowComparisonKey } from '../lib/storage/s3-layout.ts';

export const FinishShadowInput = z
  .object({
    /** The release whose shadow to finish (StartShadow's `releaseId`). */
    releaseId: z.string().min(1),
    /** Recorded on the shadow item: `completed`, or why it was cut short. @default 'completed' */
    reason: z.string().min(1).max(1_000).default('completed'),
    /** Compare and write the report; false only stops copying (an aborted release). @default true */
    report: z.boolean().default(true),
    /** What the challenger must show to pass (laid over DEFAULT_COMPARISON_CRITERIA). */
    criteria: ComparisonCriteriaSchema.optional(),
  })
  .strict();
export type FinishShadowInput = z.input<typeof FinishShadowInput>;

/** Requests the challenger failed on in a window: handled failures (ShadowErrors) and crashes (AWS/Lambda Errors). */
export type ChallengerErrorCounter = (query: {
  readonly model: string;
  readonly functionVersion: string;
  readonly start: Date;
  readonly end: Date;
}) => Promise<number>;

export interface FinishShadowPorts {
  readonly shadows: ShadowConfigStore;
  /** The data bucket's capture objects. */
  readonly captures: CaptureObjects;
  /** The artifacts bucket, where the report is written. */
  readonly reports: ObjectStore;
  readonly countChallengerErrors: ChallengerErrorCounter;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

/** How long after the window a challenger's record may still be made (queued copies). */
export const CHALLENGER_LATENESS_MS = 5 * 60_000;

/** `$.outcome` of a shadow release in the release state machine (its output). */
export interface ShadowFinished {
  /** `shadowed`: the window was compared and reported; `stopped`: copying stopped, no report. */
  readonly outcome: 'shadowed' | 'stopped';
  readonly model: string;
  readonly challengerVersion: number;
  readonly championVersion?: number;
  readonly functionVersion: string;
  readonly releaseId: string;
  /** The window compared: copies made in [start, end). */
  readonly window: { readonly start: string; readonly end: string };
  readonly finishedAt: string;
  readonly finishReason: string;
  /** Absent when `report` was false. */
  readonly report?: {
    readonly key: string;
    readonly uri: string;
    readonly verdict: ComparisonVerdict['verdict'];
    readonly reasons: readonly string[];
    readonly pairs: number;
    readonly coverage: number | null;
    readonly agreementRate: number | null;
    readonly meanAbsDelta: number | null;
    readonly challengerErrors: number;
  };
  /** One sentence for people: the verdict and where the report is. */
  readonly summary: string;
  /** SNS subject: at most 100 characters, one line. */
  readonly subject: string;
  /** SNS message: this outcome as JSON. */
  readonly message: string;
}

type ShadowFacts = Omit<ShadowFinished, 'summary' | 'subject' | 'message'>;

/** The outcome with its sentence, subject and message. */
function describeShadowOutcome(facts: ShadowFacts): ShadowFinished {
  const who = `${facts.model} v${facts.challengerVersion}`;
  const against = facts.championVersion === undefined ? '' : ` against v${facts.championVersion}`;
  const window = `${facts.window.start} – ${facts.window.end}`;
  const r = facts.report;
  const summary = r
    ? `${who} shadowed${against} on function v${facts.functionVersion} (${window}): ${r.verdict}` +
      `${r.reasons.length > 0 ? ` — ${r.reasons.join('; ')}` : ''}; ${r.pairs} pairs; report ${r.uri}`
    : `${who}'s shadow${against} stopped without a report (${facts.finishReason}); the live alias and the registry are unchanged`;
  const subject = r ? `Shadow ${who}: ${r.verdict}` : `Shadow ${who} stopped`;
  const line = subject.replace(/[\r\n]+/g, ' ');
  return {
    ...facts,
    summary,
    subject: line.length <= 100 ? line : `${line.slice(0, 99)}…`,
    message: JSON.stringify({ event: 'ShadowRelease', summary, ...facts }, null, 2),
  };
}

/** The document written at `releases/{model}/shadow-{start}/comparison.json`. */
export interface ShadowComparisonDocument extends ComparisonReport {
  readonly verdict: ComparisonVerdict;
  readonly shadow: ShadowConfig;
  readonly captures: ShadowPairs['counts'];
}

export async function finishShadow(event: unknown, ports: FinishShadowPorts): Promise<ShadowFinished> {
  const parsed = FinishShadowInput.safeParse(event);
  if (!parsed.success) throw new InvalidRequest(`invalid shadow finish: ${z.prettifyError(parsed.error)}`);
  const input = parsed.data;
  const finished = await ports.shadows.finish(input.releaseId, { at: ports.now(), reason: input.reason });
  if (!finished) throw new ShadowNotFound(`no shadow has been started (release ${input.releaseId})`);
  const finishedAt = finished.finishedAt ?? ports.now().toISOString();
  const start = new Date(finished.startedAt);
  const end = new Date(Math.min(Date.parse(finished.until), Date.parse(finishedAt)));
  const base = {
    model: finished.model,
    challengerVersion: finished.challengerVersion,
    ...(finished.championVersion === undefined ? {} : { championVersion: finished.championVersion }),
    functionVersion: finished.functionVersion,
    releaseId: finished.releaseId,
    window: { start: start.toISOString(), end: end.toISOString() },
    finishedAt,
    finishReason: finished.finishReason ?? input.reason,
  };
  ports.log('shadow finished', { ...base });
  if (!input.report) return describeShadowOutcome({ outcome: 'stopped', ...base });

  const pairs = await readShadowPairs(ports.captures, {
    model: finished.model,
    start,
    end,
    ...(finished.championVersion === undefined ? {} : { championVersion: finished.championVersion }),
    challengerVersion: finished.challengerVersion,
    challengerFunctionVersion: finished.functionVersion,
    challengerLatenessMs: CHALLENGER_LATENESS_MS,
  });
  const errors = await ports.countChallengerErrors({
    model: finished.model,
    functionVersion: finished.functionVersion,
    start,
    end: new Date(end.getTime() + CHALLENGER_LATENESS_MS),
  });
  const report = compareChampionChallenger({
    model: finished.model,
    source: 'shadow',
    champion: { version: finished.championVersion ?? 0, rows: pairs.champion },
    challenger: { version: finished.challengerVersion, rows: pairs.challenger, errors },
    window: base.window,
    generatedAt: ports.now(),
  });
  const verdict = judgeComparison(report, input.criteria as ComparisonCriteria | undefined);
  const key = shadowComparisonKey(finished.model, start);
  const document: ShadowComparisonDocument = { ...report, verdict, shadow: finished, captures: pairs.counts };
  const uri = await writeJson(ports.reports, key, document);
  await ports.shadows.recordReport(finished.releaseId, {
    uri,
    verdict: verdict.verdict,
    at: report.generatedAt,
  });
  ports.log('shadow comparison written', { uri, verdict: verdict.verdict, pairs: report.counts.pairs });
  return describeShadowOutcome({
    outcome: 'shadowed',
    ...base,
    report: {
      key,
      uri,
      verdict: verdict.verdict,
      reasons: verdict.reasons,
      pairs: report.counts.pairs,
      coverage: report.coverage,
      agreementRate: report.agreement.rate,
      meanAbsDelta: report.scores.meanAbsDelta,
      challengerErrors: report.counts.challengerErrors,
    },
  });
}
