// How a release ended, as the state machine publishes it (SNS subject and JSON message) and ends
// with (the Fail state's error and cause): one shape for released, rolled back and failed.
import { describeRouting, type Routing } from './alias-routing.ts';
import { CHAMPION_CHALLENGER_STRATEGY, describePlan, formatDuration, type Strategy } from './release-plan.ts';

export type OutcomeKind =
  | 'released'
  | 'not-handed-back'
  | 'rolled-back'
  | 'not-promoted'
  | 'failed'
  | 'rollback-failed'
  | 'interrupted';

/** `$.outcome` in statemachines/release.asl.json. */
export interface ReleaseOutcome {
  readonly outcome: OutcomeKind;
  /** The execution's error when it did not release (the Fail state's ErrorPath). */
  readonly error?: string;
  readonly releaseId: string;
  readonly model: string;
  readonly modelVersion: number;
  /** What is live now. */
  readonly routing: Routing;
  /** One sentence for people (the Fail state's CausePath). */
  readonly summary: string;
  /** SNS subject: at most 100 characters, one line. */
  readonly subject: string;
  /** SNS message: JSON with the summary, for people and machines. */
  readonly message: string;
}

/** SNS subjects are at most 100 printable characters on one line. */
const subjectLine = (text: string) => {
  const line = text.replace(/[\r\n]+/g, ' ');
  return line.length <= 100 ? line : `${line.slice(0, 99)}…`;
};

export interface OutcomeInput {
  readonly outcome: OutcomeKind;
  readonly error?: string;
  readonly releaseId: string;
  readonly model: string;
  readonly modelVersion: number;
  readonly previousModelVersion: number | null;
  readonly strategy?: Strategy;
  readonly plan?: readonly number[];
  readonly bakeSeconds?: number;
  readonly newFunctionVersion?: string;
  readonly previousFunctionVersion: string;
  readonly routing: Routing;
  readonly reason?: string;
  readonly by?: string;
  readonly at: string;
}

export function describeOutcome(o: OutcomeInput): ReleaseOutcome {
  const label = `${o.model} v${o.modelVersion}`;
  const how =
    o.strategy === CHAMPION_CHALLENGER_STRATEGY && o.plan
      ? `${o.strategy} on a ${o.plan[0]}% slice`
      : o.strategy && o.plan
        ? `${o.strategy} ${describePlan(o.plan)}${o.bakeSeconds === undefined ? '' : `, ${formatDuration(o.bakeSeconds)} bakes`}`
        : undefined;
  const live = describeRouting(o.routing);
  let summary: string;
  let subject: string;
  switch (o.outcome) {
    case 'released':
      summary =
        `${label} released${how ? ` (${how})` : ''}: it is the Production version, and live is back at rest on ` +
        `function v${o.previousFunctionVersion}, which follows Production; \`mlops rollback ${o.model}\` makes ` +
        `${o.previousModelVersion === null ? 'the previous version' : `v${o.previousModelVersion}`} Production again`;
      subject = `Release ${label}: live and Production`;
      break;
    case 'not-handed-back':
      summary =
        `${label} released${how ? ` (${how})` : ''} and Production, but live stays on function v${o.newFunctionVersion} ` +
        `(pinned to it): ${o.reason ?? 'no reason given'}. CodeDeploy refuses the next \`cdk deploy\` until live ` +
        `is back on v${o.previousFunctionVersion} 100%: move it there once v${o.previousFunctionVersion} serves ${label}`;
      subject = `Release ${label}: Production, live not handed back`;
      break;
    case 'interrupted':
      summary =
        `${label} interrupted by a code release, live left at ${live} and the registry as it was: ` +
        `${o.reason ?? 'no reason given'}; once the code release has ended, settle it with \`mlops rollback ${o.model}\``;
      subject = `Release ${label} interrupted by a code release`;
      break;
    case 'rolled-back':
      summary = `${label} rolled back to function v${o.previousFunctionVersion}${o.by ? ` by ${o.by}` : ''}: ${o.reason ?? 'no reason given'}`;
      subject = `Release ${label} rolled back`;
      break;
    case 'not-promoted':
      summary =
        `${label} not promoted${how ? ` (${how})` : ''}: ${o.reason ?? 'no reason given'}. Live is back on function ` +
        `v${o.previousFunctionVersion} 100%; ${o.previousModelVersion === null ? 'the Production version' : `v${o.previousModelVersion}`} stays Production`;
      subject = `Release ${label}: champion kept`;
      break;
    case 'failed':
      summary = `${label} not released (no traffic moved): ${o.reason ?? 'no reason given'}`;
      subject = `Release ${label} failed`;
      break;
    case 'rollback-failed':
      summary =
        `${label}: ROLLBACK FAILED, live routes ${live}: ${o.reason ?? 'no reason given'}; ` +
        `retry with \`mlops rollback ${o.model}\``;
      subject = `URGENT: rollback of release ${label} failed`;
      break;
  }
  const message = JSON.stringify(
    {
      event: 'ModelRelease',
      outcome: o.outcome,
      summary,
      releaseId: o.releaseId,
      model: o.model,
      version: o.modelVersion,
      previousVersion: o.previousModelVersion,
      functionVersion: o.newFunctionVersion ?? null,
      previousFunctionVersion: o.previousFunctionVersion,
      live,
      ...(o.strategy ? { strategy: o.strategy } : {}),
      ...(o.plan ? { plan: o.plan } : {}),
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.by ? { by: o.by } : {}),
      at: o.at,
    },
    null,
    2,
  );
  return {
    outcome: o.outcome,
    ...(o.error ? { error: o.error } : {}),
    releaseId: o.releaseId,
    model: o.model,
    modelVersion: o.modelVersion,
    routing: o.routing,
    summary,
    subject: subjectLine(subject),
    message,
  };
}
