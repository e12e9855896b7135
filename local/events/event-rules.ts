// Reads the EventBridge rules a stack declares (`AWS::Events::Rule` with an EventPattern, a
// ScheduleExpression or both): name, bus, pattern, schedule and targets, intrinsics resolved. A
// rule whose pattern, schedule or targets cannot be evaluated locally is returned as not
// emulated, with the reason.
import type { StackResolution } from '../stack-resolution.ts';
import { parseStateMachineArn } from '../stepfunctions/arns.ts';
import type { AssemblyStack } from '../template/cloud-assembly.ts';
import { resolveValue } from '../template/intrinsics.ts';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';
import { type EventPattern, patternProblems } from './event-pattern.ts';
import { parseScheduleExpression, type Schedule, ScheduleExpressionError } from './schedule-expression.ts';

/** `InputTransformer` of a target. */
export interface InputTransformer {
  /** Placeholder name → JSONPath into the event. */
  readonly inputPathsMap: Readonly<Record<string, string>>;
  /** Text with `<name>` placeholders. */
  readonly inputTemplate: string;
}

/** One target of a rule; at most one of `input`, `inputPath`, `inputTransformer`. */
export interface RuleTarget {
  readonly id: string;
  readonly arn: string;
  readonly roleArn?: string;
  /** JSON text sent instead of the event. */
  readonly input?: string;
  /** JSONPath of the part of the event sent. */
  readonly inputPath?: string;
  readonly inputTransformer?: InputTransformer;
}

/** A rule as the local router runs it: an event pattern, a schedule, or both. */
export interface EventRule {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** `default` for the account's default bus (where S3 sends its events). */
  readonly eventBusName: string;
  /** Events on the bus that match it reach the targets. @default none: a schedule-only rule */
  readonly pattern?: EventPattern;
  /** When the targets get a "Scheduled Event" (local/events/scheduler.ts). @default none */
  readonly schedule?: Schedule;
  /** State `DISABLED`: kept, never matched, never fired. */
  readonly enabled: boolean;
  readonly targets: readonly RuleTarget[];
}

export interface RuleReading {
  readonly rules: EventRule[];
  /** Rules declared but not routed locally, with why. */
  readonly notEmulated: Array<{ readonly logicalId: string; readonly reason: string }>;
  readonly warnings: string[];
}

/** The EventBridge ARN of rule `name` on `bus`. */
export function ruleArn(name: string, bus = 'default'): string {
  const path = bus === 'default' ? name : `${bus}/${name}`;
  return `arn:aws:events:${DEFAULT_LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${path}`;
}

/** The stack's event-pattern and schedule rules. */
export function readEventRules(stack: AssemblyStack, resolution: StackResolution): RuleReading {
  const reading: RuleReading = { rules: [], notEmulated: [], warnings: [] };
  for (const [logicalId, r] of Object.entries(stack.template.Resources ?? {})) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    const p = r.Properties ?? {};
    if (p.EventPattern === undefined && p.ScheduleExpression === undefined) continue;
    try {
      const resolve = (key: string) =>
        resolveValue(p[key], resolution.ctx, `Resources.${logicalId}.Properties.${key}`);
      const pattern = p.EventPattern === undefined ? undefined : parsePattern(resolve('EventPattern'));
      const problems = pattern === undefined ? [] : patternProblems(pattern);
      if (problems.length > 0) {
        reading.notEmulated.push({ logicalId, reason: `event pattern: ${problems.join('; ')}` });
        continue;
      }
      let schedule: Schedule | undefined;
      if (p.ScheduleExpression !== undefined) {
        try {
          schedule = parseScheduleExpression(String(resolve('ScheduleExpression')), logicalId);
        } catch (err) {
          if (!(err instanceof ScheduleExpressionError)) throw err;
          const reason = `schedule ${err.expression}: ${err.problem}`;
          if (pattern === undefined) {
            reading.notEmulated.push({ logicalId, reason });
            continue;
          }
          reading.warnings.push(`${logicalId}: its ${reason}, so it is not run locally; its pattern is`);
        }
      }
      const bus = busName(p.EventBusName === undefined ? undefined : resolve('EventBusName'));
      const name = resolution.physical.get(logicalId) ?? logicalId;
      const targets = ((resolve('Targets') ?? []) as Array<Record<string, unknown>>).map(readTarget);
      const state = p.State === undefined ? 'ENABLED' : String(resolve('State'));
      reading.rules.push({
        logicalId,
        name,
        arn: ruleArn(name, bus),
        eventBusName: bus,
        ...(pattern === undefined ? {} : { pattern: pattern as EventPattern }),
        ...(schedule === undefined ? {} : { schedule }),
        enabled: state !== 'DISABLED',
        targets,
      });
      for (const target of targets)
        if (parseStateMachineArn(target.arn) === undefined && !/^arn:aws[a-z-]*:lambda:/.test(target.arn))
          reading.warnings.push(
            `${logicalId}: target ${target.id} (${target.arn}) is not emulated locally: only state machines and Lambda functions get events`,
          );
      if (bus !== 'default')
        reading.warnings.push(
          `${logicalId}: rule on event bus ${bus}: only events published to it locally (platform.events.publish) reach it`,
        );
    } catch (err) {
      reading.notEmulated.push({ logicalId, reason: (err as Error).message });
    }
  }
  return reading;
}

/** CloudFormation takes the pattern as an object or as JSON text. */
function parsePattern(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`its EventPattern is not JSON: ${(err as Error).message}`);
  }
}

/** A bus given by name or ARN; absent: the default bus. */
function busName(value: unknown): string {
  if (value === undefined) return 'default';
  const text = String(value);
  return /:event-bus\/(.+)$/.exec(text)?.[1] ?? text;
}

function readTarget(t: Record<string, unknown>): RuleTarget {
  const transformer = t.InputTransformer as
    | { InputPathsMap?: Record<string, unknown>; InputTemplate?: unknown }
    | undefined;
  return {
    id: String(t.Id ?? ''),
    arn: String(t.Arn ?? ''),
    ...(t.RoleArn === undefined ? {} : { roleArn: String(t.RoleArn) }),
    ...(t.Input === undefined ? {} : { input: String(t.Input) }),
    ...(t.InputPath === undefined ? {} : { inputPath: String(t.InputPath) }),
    ...(transformer
      ? {
          inputTransformer: {
            inputPathsMap: Object.fromEntries(
              Object.entries(transformer.InputPathsMap ?? {}).map(([k, v]) => [k, String(v)]),
            ),
            inputTemplate: String(transformer.InputTemplate ?? ''),
          },
        }
      : {}),
  };
}
