// Walking ASL definitions: states at any depth, and the timeouts the library is given.
import { describe, expect, it } from 'vitest';
import {
  type AslMachine,
  allStates,
  LONGEST_LOCAL_TIMEOUT_SECONDS,
  withLocalTimeouts,
} from '../../../../local/stepfunctions/asl.ts';

const definition: AslMachine = {
  StartAt: 'Fan',
  TimeoutSeconds: 99_999_999,
  States: {
    Fan: {
      Type: 'Parallel',
      Branches: [
        { StartAt: 'Train', States: { Train: { Type: 'Task', Resource: 'arn:fn:train' } } },
        {
          StartAt: 'Each',
          States: {
            Each: {
              Type: 'Map',
              ItemProcessor: {
                StartAt: 'Score',
                States: { Score: { Type: 'Task', Resource: 'arn:fn:score', TimeoutSeconds: 30 } },
              },
            },
          },
        },
      ],
    },
  },
};

describe('allStates', () => {
  it('finds states inside Parallel branches and Map processors', () => {
    expect(allStates(definition).map(([name]) => name)).toEqual(['Fan', 'Train', 'Each', 'Score']);
  });
});

describe('withLocalTimeouts', () => {
  it('gives Task states without a timeout none (not the library 60 s) and caps what setTimeout cannot hold', () => {
    const patched = withLocalTimeouts(definition);
    const states = Object.fromEntries(allStates(patched));
    expect(patched.TimeoutSeconds).toBe(LONGEST_LOCAL_TIMEOUT_SECONDS);
    expect(states.Train?.TimeoutSeconds).toBe(LONGEST_LOCAL_TIMEOUT_SECONDS);
    expect(states.Score?.TimeoutSeconds).toBe(30);
    expect(states.Fan?.TimeoutSeconds).toBeUndefined();
    expect(LONGEST_LOCAL_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});
