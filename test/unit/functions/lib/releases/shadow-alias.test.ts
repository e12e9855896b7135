// Pointing the `shadow` alias at the challenger, on an in-memory function: the version published
// copies the live version's configuration with one pin changed, a retry reuses it, different code
// on $LATEST is refused, and what is read back must be what was intended.
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../../../functions/lib/errors.ts';
import {
  pointShadowAtChallenger,
  ShadowAliasMismatch,
} from '../../../../../functions/lib/releases/shadow-alias.ts';
import { FakeLambdaFunction } from '../../../../support/shadow-fakes.ts';

const LIVE_ENV = {
  REGISTRY_TABLE: 'registry',
  SHADOW_ALIAS: 'shadow',
  MODEL_VERSION_PINS: JSON.stringify({ 'other-model': 4, 'flight-delay': 1 }),
};

const point = (fn: FakeLambdaFunction, challengerVersion = 2) =>
  pointShadowAtChallenger(fn.alias('live'), fn.alias('shadow'), {
    model: 'flight-delay',
    challengerVersion,
    releaseId: 'release-1',
  });

describe('pointShadowAtChallenger', () => {
  it("publishes the live version's configuration with the challenger pinned, and moves only the shadow alias", async () => {
    const fn = new FakeLambdaFunction({ live: '3', environment: LIVE_ENV });
    const state = await point(fn);
    expect(state).toEqual({
      functionVersion: '4',
      pins: { 'other-model': 4, 'flight-delay': 2 },
      liveVersion: '3',
    });
    expect(fn.versions.get('4')?.environment).toEqual({
      ...LIVE_ENV,
      // Pins in model order (model-pins.ts): the same pins always make the same version.
      MODEL_VERSION_PINS: JSON.stringify({ 'flight-delay': 2, 'other-model': 4 }),
    });
    expect(fn.versions.get('4')?.description).toBe('shadow: flight-delay v2 (release-1)');
    expect(fn.updates).toEqual([{ alias: 'shadow', routing: { version: '4' } }]);
    expect(fn.aliases.get('live')?.routing).toEqual({ version: '3' });
  });

  it('reuses the version a previous attempt pointed the alias at', async () => {
    const fn = new FakeLambdaFunction({ live: '3', environment: LIVE_ENV });
    await point(fn);
    const again = await point(fn);
    expect(again.functionVersion).toBe('4');
    expect(fn.published).toEqual(['4']);
    expect(fn.updates).toHaveLength(1);
  });

  it('publishes anew for another challenger', async () => {
    const fn = new FakeLambdaFunction({ live: '3', environment: LIVE_ENV });
    await point(fn, 2);
    expect((await point(fn, 5)).functionVersion).toBe('5');
    expect(fn.aliases.get('shadow')?.routing).toEqual({ version: '5' });
  });

  it("refuses when $LATEST's code is not the live version's (a code deploy in progress)", async () => {
    const fn = new FakeLambdaFunction({ live: '3', environment: LIVE_ENV });
    const latest = fn.versions.get('$LATEST');
    if (latest) fn.versions.set('$LATEST', { ...latest, codeSha256: 'new-code' });
    await expect(point(fn)).rejects.toBeInstanceOf(ConflictError);
    await expect(point(fn)).rejects.toThrow(
      /has other code \(new-code\) than the live version 3 \(code-sha-1\)/,
    );
    expect(fn.updates).toEqual([]);
  });

  it('fails loudly when the alias reads back other than intended', async () => {
    const fn = new FakeLambdaFunction({ live: '3', environment: LIVE_ENV });
    fn.applyUpdate = () => ({ version: '3' });
    await expect(point(fn)).rejects.toThrow(
      new ShadowAliasMismatch('TestStack-Predict:shadow reads back as v3 100%, not v4 100%'),
    );
  });

  it('fails loudly when the version it points at does not pin the challenger', async () => {
    const fn = new FakeLambdaFunction({ live: '3', environment: LIVE_ENV });
    const shadow = fn.alias('shadow');
    const publish = shadow.publishVersion.bind(shadow);
    // A publish that loses the pins (as if someone changed $LATEST in between).
    shadow.publishVersion = (env, description) =>
      publish({ ...env, MODEL_VERSION_PINS: '{"flight-delay":1}' }, description);
    await expect(
      pointShadowAtChallenger(fn.alias('live'), shadow, {
        model: 'flight-delay',
        challengerVersion: 2,
        releaseId: 'r',
      }),
    ).rejects.toThrow('TestStack-Predict:4 pins flight-delay to v1, not to v2');
  });
});
