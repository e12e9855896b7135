// What a rule target receives: the event, a constant Input, the part at InputPath, or an
// InputTransformer's template filled from the event, as EventBridge builds it.
import type { EventRule, RuleTarget } from './event-rules.ts';
import type { EventBridgeEvent } from './s3-events.ts';

/**
 * The text `target` is sent for `event`: JSON, except that an InputTransformer template that is
 * not JSON gives plain text (EventBridge sends it as a string).
 */
export function targetInput(target: RuleTarget, event: EventBridgeEvent, rule: EventRule): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath !== undefined) return JSON.stringify(readPath(event, target.inputPath) ?? null);
  if (target.inputTransformer) {
    const { inputPathsMap, inputTemplate } = target.inputTransformer;
    const values: Record<string, unknown> = {
      'aws.events.rule-arn': rule.arn,
      'aws.events.rule-name': rule.name,
      'aws.events.event.ingestion-time': event.time,
      'aws.events.event': event,
      'aws.events.event.json': event,
    };
    for (const [name, path] of Object.entries(inputPathsMap)) values[name] = readPath(event, path);
    return fillTemplate(inputTemplate, values);
  }
  return JSON.stringify(event);
}

/**
 * The value at a JSONPath of the forms EventBridge paths take: `$`, `$.detail.object.key`,
 * `$.detail-type`, `$.resources[0]`, `$['a b']`. Undefined when nothing is there.
 */
export function readPath(value: unknown, path: string): unknown {
  if (!path.startsWith('$')) throw new Error(`"${path}" is not a JSONPath (it must start with $)`);
  const step = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  let at = 1;
  let current = value;
  while (at < path.length) {
    step.lastIndex = at;
    const match = step.exec(path);
    if (!match)
      throw new Error(`JSONPath "${path}" is not emulated locally (plain member and index steps only)`);
    at = step.lastIndex;
    const key = match[1] ?? match[3] ?? match[4] ?? Number(match[2]);
    current =
      current !== null && typeof current === 'object' && Object.hasOwn(current, key)
        ? (current as Record<string | number, unknown>)[key]
        : undefined;
  }
  return current;
}

/**
 * Replace each `<name>` of `template`: inside a JSON string by the value's text (escaped for
 * JSON, strings without their quotes), elsewhere by the value's JSON. A name with no value
 * becomes an empty string or `null`, as EventBridge fills a path that matched nothing.
 */
function fillTemplate(template: string, values: Readonly<Record<string, unknown>>): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    if (c === '<') {
      const end = template.indexOf('>', i);
      const name = end < 0 ? undefined : template.slice(i + 1, end);
      if (name !== undefined && Object.hasOwn(values, name)) {
        const value = values[name];
        if (inString) {
          const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
          out += JSON.stringify(text).slice(1, -1);
        } else out += JSON.stringify(value ?? null);
        i = end;
        continue;
      }
    }
    if (c === '\\' && inString) {
      out += c + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') inString = !inString;
    out += c;
  }
  return out;
}
