// PublishReleaseVersion: the new version's configuration (pins), its read-back, and the warm-up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionConfig } from '../../../../functions/lib/releases/alias-routing.ts';
import { publishReleaseVersion } from '../../../../functions/publish-release-version/core.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import {
  FakeAliasControl,
  noLog,
  releaseContext,
  releaseTables,
  startedRecord,
  TestClock,
} from '../../../support/release-fakes.ts';

let dynamo: TestDynamoDb;
beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

async function setup(
  environment: Record<string, string> = { REGISTRY_TABLE: 'registry', MODEL_VERSION_PINS: '{"churn":7}' },
) {
  const { store } = await releaseTables(dynamo);
  const release = releaseContext();
  await store.createRelease(startedRecord(release));
  const alias = new FakeAliasControl({ environment });
  const ports = { alias, store, now: new TestClock().now, log: noLog };
  return { store, alias, release, ports };
}

describe('publishReleaseVersion', () => {
  it("publishes the live version's configuration with the model pinned, other models' pins kept", async () => {
    const { alias, store, release, ports } = await setup();

    const published = await publishReleaseVersion({ release }, ports);

    expect(published).toEqual({ functionVersion: '5', pins: { churn: 7, 'flight-delay': 2 }, warmed: 2 });
    expect(alias.versions.get('5')?.environment).toEqual({
      REGISTRY_TABLE: 'registry',
      MODEL_VERSION_PINS: '{"churn":7,"flight-delay":2}',
    });
    expect((await store.latestRelease('flight-delay'))?.newFunctionVersion).toBe('5');
  });

  it('gets the same version when retried (Lambda publishes nothing new for an unchanged configuration)', async () => {
    const { release, ports } = await setup();
    await publishReleaseVersion({ release }, ports);
    expect((await publishReleaseVersion({ release }, ports)).functionVersion).toBe('5');
  });

  it('warms a blue-green version ten times with requests that load its model', async () => {
    const { alias, release, ports } = await setup();
    const events: any[] = [];
    alias.invoke = (_v, e) => {
      events.push(e);
      return { payload: { statusCode: 400, body: '{}' } };
    };

    await publishReleaseVersion({ release: { ...release, strategy: 'blue-green', plan: [100] } }, ports);

    expect(events).toHaveLength(10);
    expect(events[0]).toMatchObject({
      httpMethod: 'POST',
      pathParameters: { model: 'flight-delay' },
      body: '{"instances":[{}]}',
    });
  });

  it('fails when the new version fails its warm-up', async () => {
    const { alias, release, ports } = await setup();
    alias.invoke = () => ({
      functionError: 'Unhandled',
      payload: { errorType: 'Error', errorMessage: 'cannot load onnxruntime' },
    });
    await expect(publishReleaseVersion({ release }, ports)).rejects.toMatchObject({
      name: 'WarmUpFailed',
      message: 'v5 failed its warm-up (Unhandled): cannot load onnxruntime',
    });
  });

  it('fails when the version does not serve its pinned model (404)', async () => {
    const { alias, release, ports } = await setup();
    alias.invoke = () => ({
      payload: {
        statusCode: 404,
        body: JSON.stringify({ error: { message: 'model "flight-delay" has no version 2' } }),
      },
    });
    await expect(publishReleaseVersion({ release }, ports)).rejects.toThrow(
      'v5 cannot serve flight-delay v2: warm-up answered 404 model "flight-delay" has no version 2',
    );
  });

  it('fails loudly when the published configuration does not read back as intended', async () => {
    const { alias, release, ports } = await setup();
    const get = alias.getVersionConfig.bind(alias);
    alias.getVersionConfig = async (v: string): Promise<VersionConfig> => {
      const c = await get(v);
      return v === '5'
        ? { ...c, environment: { ...c.environment, MODEL_VERSION_PINS: '{"flight-delay":1}' } }
        : c;
    };
    await expect(publishReleaseVersion({ release }, ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: 'published v5 pins {"flight-delay":1}, intended {"churn":7,"flight-delay":2}',
    });
  });

  it('refuses while $LATEST runs other code than the live version (an unfinished code deploy)', async () => {
    const { alias, release, ports } = await setup();
    const latest = alias.versions.get('$LATEST') as VersionConfig;
    alias.versions.set('$LATEST', { ...latest, codeSha256: 'new-code' });
    await expect(publishReleaseVersion({ release }, ports)).rejects.toMatchObject({
      name: 'ReleaseRefused',
      message: expect.stringContaining('a code deploy is unfinished'),
    });
  });

  it('refuses a live version whose pins are not a {model: version} map', async () => {
    const { release, ports } = await setup({ MODEL_VERSION_PINS: '{"churn":"seven"}' });
    await expect(publishReleaseVersion({ release }, ports)).rejects.toThrow(
      'live version v4: MODEL_VERSION_PINS is not {"model": version}: {"churn":"seven"}',
    );
  });
});
