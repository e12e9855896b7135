// `mlops replay` argument checks: each bad argument is one clear line naming it.
import { describe, expect, it } from 'vitest';
import { parseReplayArgs } from '../../../cli/commands/replay.ts';

describe('parseReplayArgs', () => {
  it('reads model, version, window and limit, with a 24 h window and 1,000 requests by default', () => {
    expect(parseReplayArgs({ model: 'flight-delay', challengerVersion: '3', json: false })).toEqual({
      model: 'flight-delay',
      challengerVersion: 3,
      windowSeconds: 86_400,
      limit: 1_000,
    });
    expect(
      parseReplayArgs({ model: 'm', challengerVersion: '2', window: '1h30m', limit: '0', json: true }),
    ).toMatchObject({ windowSeconds: 5_400, limit: 0 });
  });

  it('fails naming a missing or invalid model or version', () => {
    expect(() => parseReplayArgs({ challengerVersion: '2', json: false })).toThrow(/<model>: missing/);
    expect(() => parseReplayArgs({ model: 'Bad Name', challengerVersion: '2', json: false })).toThrow(
      /<model>: Bad Name is not a model name/,
    );
    expect(() => parseReplayArgs({ model: 'm', challengerVersion: 'v2', json: false })).toThrow(
      /<challenger-version>: v2 is not a version number/,
    );
  });

  it('fails naming a bad window or limit', () => {
    expect(() =>
      parseReplayArgs({ model: 'm', challengerVersion: '2', window: 'a day', json: false }),
    ).toThrow(/--window must look like 30s, 5m, 1h or 1h30m/);
    expect(() =>
      parseReplayArgs({ model: 'm', challengerVersion: '2', window: '200h', json: false }),
    ).toThrow('--window must be between 1m and 168h (got 200h)');
    expect(() => parseReplayArgs({ model: 'm', challengerVersion: '2', limit: '-1', json: false })).toThrow(
      '--limit must be a whole number ≥ 0 (got -1)',
    );
  });
});
