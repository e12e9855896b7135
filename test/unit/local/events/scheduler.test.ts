// Schedule rules on the local event router with fake targets and a fake clock: what a state
// machine or function target is sent when a rule fires, firing on timers (real time and sped
// up), manual firing, disabled rules, and stopping. Then reading schedule rules from a template.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalEventRouter } from '../../../../local/events/event-router.ts';
import { type EventRule, readEventRules } from '../../../../local/events/event-rules.ts';
import { parseScheduleExpression } from '../../../../local/events/schedule-expression.ts';
import type { ScheduleSettings } from '../../../../local/events/scheduler.ts';
import { classifyResources, markNotEmulated } from '../../../../local/resource-support.ts';
import { stackResolution } from '../../../../local/stack-resolution.ts';
import { executionArn, stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import type { CfnTemplate } from '../../../../local/template/cfn-template.ts';
import type { AssemblyStack } from '../../../../local/template/cloud-assembly.ts';

const HOUR = 3_600_000;

function scheduleRule(logicalId: string, expression: string, overrides: Partial<EventRule> = {}): EventRule {
  return {
    logicalId,
    name: `S-${logicalId}`,
    arn: `arn:aws:events:us-east-1:000000000000:rule/S-${logicalId}`,
    eventBusName: 'default',
    enabled: true,
    schedule: parseScheduleExpression(expression, logicalId),
    targets: [{ id: 'Target0', arn: stateMachineArn('DriftCheck') }],
    ...overrides,
  };
}

const hourly = scheduleRule('DriftCheckSchedule', 'cron(0 * * * ? *)');

function router(rules: EventRule[], schedules: ScheduleSettings = {}) {
  const lines: string[] = [];
  const started: Array<{ stateMachineArn: string; input: unknown }> = [];
  const invoked: Array<{ ref: string; event: unknown }> = [];
  let n = 0;
  const events = new LocalEventRouter({
    targets: {
      startExecution: ({ stateMachineArn: arn, input }) => {
        started.push({ stateMachineArn: arn, input: JSON.parse(input) });
        return { executionArn: executionArn(arn.split(':').pop() ?? '', `run-${++n}`) };
      },
      invokeLambda: async (ref, event) => {
        invoked.push({ ref, event });
        return null;
      },
    },
    log: (line) => lines.push(line),
    schedules,
  });
  for (const rule of rules) events.addRule(rule);
  return { events, lines, started, invoked };
}

describe('schedule rules', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-03T10:15:30.250Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('fired by hand (manual mode)', () => {
    it('starts the target state machine with the Scheduled Event as input, and logs it', async () => {
      const { events, started, lines } = router([hourly], { mode: 'manual' });
      events.startSchedules();

      const deliveries = await events.runSchedule('DriftCheckSchedule');

      expect(started).toEqual([
        {
          stateMachineArn: stateMachineArn('DriftCheck'),
          input: {
            version: '0',
            id: deliveries[0]?.eventId,
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            account: '000000000000',
            time: '2026-11-03T10:15:30Z',
            region: 'us-east-1',
            resources: ['arn:aws:events:us-east-1:000000000000:rule/S-DriftCheckSchedule'],
            detail: {},
          },
        },
      ]);
      expect(deliveries).toMatchObject([
        {
          rule: 'DriftCheckSchedule',
          targetId: 'Target0',
          executionArn: executionArn('DriftCheck', 'run-1'),
        },
      ]);
      expect(lines).toEqual([
        '[events] DriftCheckSchedule (schedule): 2026-11-03T10:15:30Z → DriftCheck run-1',
      ]);
      expect(events.deliveries({ rule: 'DriftCheckSchedule' })).toEqual(deliveries);
    });

    it('finds the rule by name and fires it for the time asked', async () => {
      const { events, started } = router([hourly], { mode: 'manual' });

      await events.runSchedule('S-DriftCheckSchedule', new Date('2026-11-04T00:00:00Z'));

      expect(started[0]?.input).toMatchObject({ time: '2026-11-04T00:00:00Z' });
    });

    it('sends a constant Input, an InputPath or an InputTransformer as for any event', async () => {
      const rule = scheduleRule('RetrainSchedule', 'rate(1 day)', {
        targets: [
          { id: 'Constant', arn: stateMachineArn('Retraining'), input: '{"model":"flights"}' },
          { id: 'Path', arn: stateMachineArn('Retraining'), inputPath: '$.time' },
          {
            id: 'Transformed',
            arn: 'arn:aws:lambda:us-east-1:000000000000:function:S-DriftCheck',
            inputTransformer: {
              inputPathsMap: { when: '$.time' },
              inputTemplate: '{"model":"flights","window":"<when>","rule":"<aws.events.rule-name>"}',
            },
          },
        ],
      });
      const { events, started, invoked, lines } = router([rule], { mode: 'manual' });

      await events.runSchedule('RetrainSchedule');

      expect(started.map((s) => s.input)).toEqual([{ model: 'flights' }, '2026-11-03T10:15:30Z']);
      expect(invoked).toEqual([
        {
          ref: 'arn:aws:lambda:us-east-1:000000000000:function:S-DriftCheck',
          event: { model: 'flights', window: '2026-11-03T10:15:30Z', rule: 'S-RetrainSchedule' },
        },
      ]);
      expect(lines[2]).toBe(
        '[events] RetrainSchedule (schedule): 2026-11-03T10:15:30Z → function S-DriftCheck (asynchronous)',
      );
    });

    it('arms no timers', () => {
      const { events } = router([hourly], { mode: 'manual' });

      events.startSchedules();

      expect(vi.getTimerCount()).toBe(0);
      expect(events.upcomingSchedules()).toEqual([]);
    });

    it.each([
      ['a disabled rule', 'Off', 'rule Off is DISABLED: EventBridge never fires it'],
      ['a rule without a schedule', 'Pattern', 'rule Pattern has no ScheduleExpression'],
      ['an unknown rule', 'Nope', 'no rule named Nope; schedule rules: Off'],
    ])('fails for %s', async (_, ref, message) => {
      const { events, started } = router([
        scheduleRule('Off', 'cron(0 * * * ? *)', { enabled: false }),
        {
          ...hourly,
          logicalId: 'Pattern',
          name: 'S-Pattern',
          schedule: undefined,
          pattern: { source: ['x'] },
        },
      ]);

      await expect(events.runSchedule(ref)).rejects.toThrow(message);
      expect(started).toEqual([]);
    });
  });

  describe('fired by timers', () => {
    it('fires at each fire time of a cron, with that time in the event', async () => {
      const { events, started } = router([hourly]);
      events.startSchedules();

      expect(events.upcomingSchedules()).toEqual([
        {
          rule: 'DriftCheckSchedule',
          name: 'S-DriftCheckSchedule',
          expression: 'cron(0 * * * ? *)',
          next: new Date('2026-11-03T11:00:00Z'),
        },
      ]);
      await vi.advanceTimersByTimeAsync(44 * 60_000);
      expect(started).toEqual([]);

      await vi.advanceTimersByTimeAsync(2 * HOUR);

      expect(started.map((s) => (s.input as { time: string }).time)).toEqual([
        '2026-11-03T11:00:00Z',
        '2026-11-03T12:00:00Z',
      ]);
      expect(events.upcomingSchedules()[0]?.next).toEqual(new Date('2026-11-03T13:00:00Z'));
      expect(vi.getTimerCount()).toBe(1);
    });

    it('fires a rate every period from when schedules started', async () => {
      const { events, started } = router([scheduleRule('Every5', 'rate(5 minutes)')]);
      events.startSchedules();

      await vi.advanceTimersByTimeAsync(16 * 60_000);

      expect(started.map((s) => (s.input as { time: string }).time)).toEqual([
        '2026-11-03T10:20:30Z',
        '2026-11-03T10:25:30Z',
        '2026-11-03T10:30:30Z',
      ]);
    });

    it('runs the schedule clock faster with speed', async () => {
      const { events, started } = router([hourly], { speed: 60 });
      events.startSchedules();

      await vi.advanceTimersByTimeAsync(3 * 60_000);

      expect(started.map((s) => (s.input as { time: string }).time)).toEqual([
        '2026-11-03T11:00:00Z',
        '2026-11-03T12:00:00Z',
        '2026-11-03T13:00:00Z',
      ]);
    });

    it('waits longer than one timer allows for a yearly schedule', async () => {
      const { events, started } = router([scheduleRule('NewYear', 'cron(0 0 1 1 ? *)')]);
      events.startSchedules();

      await vi.advanceTimersByTimeAsync(59 * 24 * HOUR);

      expect(started.map((s) => (s.input as { time: string }).time)).toEqual(['2027-01-01T00:00:00Z']);
    });

    it('never fires a disabled rule', async () => {
      const { events, started } = router([scheduleRule('Off', 'rate(1 minute)', { enabled: false })]);
      events.startSchedules();

      await vi.advanceTimersByTimeAsync(24 * HOUR);

      expect(started).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('clears every timer when the router closes, and fires nothing after', async () => {
      const { events, started } = router([hourly, scheduleRule('Every5', 'rate(5 minutes)')]);
      events.startSchedules();
      expect(vi.getTimerCount()).toBe(2);

      await events.close();
      await vi.advanceTimersByTimeAsync(24 * HOUR);

      expect(vi.getTimerCount()).toBe(0);
      expect(started).toEqual([]);
      expect(events.upcomingSchedules()).toEqual([]);
      await expect(events.runSchedule('DriftCheckSchedule')).rejects.toThrow(
        'the local event router is closed',
      );
    });

    it('unrefs its timers, so a schedule alone does not keep the process alive', () => {
      vi.useRealTimers();
      const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
      const { events } = router([hourly]);

      events.startSchedules();

      const timer = setTimeoutSpy.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      setTimeoutSpy.mockRestore();
      return events.close();
    });

    it('does not route other events to a schedule-only rule', async () => {
      const { events, started } = router([hourly]);

      await events.publish({
        version: '0',
        id: 'e-1',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: '2026-11-03T10:00:00Z',
        region: 'us-east-1',
        resources: [],
        detail: {},
      });

      expect(started).toEqual([]);
    });
  });
});

/** A stack as CDK synthesizes `new Rule(this, id, { schedule: Schedule.cron(…), targets })`. */
function stack(): AssemblyStack {
  const template: CfnTemplate = {
    Resources: {
      DriftCheck: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: { StateMachineName: 'S-DriftCheck', DefinitionString: '{}' },
      },
      DriftCheckSchedule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'cron(0 * * * ? *)',
          State: 'ENABLED',
          Targets: [{ Arn: { Ref: 'DriftCheck' }, Id: 'Target0', Input: '{"model":"flights"}' }],
        },
      },
      Paused: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: 'rate(1 day)', State: 'DISABLED', Targets: [] },
      },
      Broken: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: 'cron(0 10 * * * *)', Targets: [] },
      },
      Both: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: { source: ['my.app'] },
          ScheduleExpression: 'rate(5 minute)',
          Targets: [],
        },
      },
    },
  };
  return {
    stackName: 'S',
    artifactId: 'S',
    displayName: 'S',
    templateFile: 'S.template.json',
    template,
    assets: new Map(),
    dockerImages: [],
    environment: {},
  };
}

describe('reading schedule rules', () => {
  it('reads enabled and disabled schedule rules with their targets', () => {
    const s = stack();

    const { rules } = readEventRules(s, stackResolution(s, 'http://127.0.0.1:9'));

    expect(rules.find((r) => r.logicalId === 'DriftCheckSchedule')).toEqual({
      logicalId: 'DriftCheckSchedule',
      name: 'S-DriftCheckSchedule',
      arn: 'arn:aws:events:us-east-1:000000000000:rule/S-DriftCheckSchedule',
      eventBusName: 'default',
      schedule: parseScheduleExpression('cron(0 * * * ? *)'),
      enabled: true,
      targets: [{ id: 'Target0', arn: stateMachineArn('S-DriftCheck'), input: '{"model":"flights"}' }],
    });
    expect(rules.find((r) => r.logicalId === 'Paused')?.enabled).toBe(false);
  });

  it('reports a rule whose schedule cannot be evaluated as not emulated, with the reason', () => {
    const s = stack();

    const { rules, notEmulated, warnings } = readEventRules(s, stackResolution(s, 'http://127.0.0.1:9'));

    expect(rules.map((r) => r.logicalId)).toEqual(['DriftCheckSchedule', 'Paused', 'Both']);
    expect(notEmulated).toEqual([
      {
        logicalId: 'Broken',
        reason: 'schedule cron(0 10 * * * *): exactly one of Day-of-month and Day-of-week must be "?"',
      },
    ]);
    expect(warnings).toEqual([
      'Both: its schedule rate(5 minute): the unit must be "minutes" for 5, so it is not run locally; its pattern is',
    ]);
    expect(rules.find((r) => r.logicalId === 'Both')?.schedule).toBeUndefined();
  });

  it('counts schedule rules as emulated in the start-up report, except those it cannot run', () => {
    const s = stack();
    const report = classifyResources('S', s.template.Resources);
    const { notEmulated } = readEventRules(s, stackResolution(s, 'http://127.0.0.1:9'));

    for (const { logicalId, reason } of notEmulated)
      markNotEmulated(report, logicalId, 'AWS::Events::Rule', reason);

    expect(report.emulated).toEqual(['DriftCheck', 'DriftCheckSchedule', 'Paused', 'Both']);
    expect(report.notEmulated).toEqual([
      'Broken (AWS::Events::Rule, schedule cron(0 10 * * * *): exactly one of Day-of-month and Day-of-week must be "?")',
    ]);
  });
});
