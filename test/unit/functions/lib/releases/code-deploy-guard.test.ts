// The model release's side of alias ownership: it asks CodeDeploy whether a code release is under
// way (ListDeployments of the deployment group, active statuses, every page) and refuses to start
// then, or from an alias that is not at rest.
import {
  CodeDeployClient,
  DeploymentGroupDoesNotExistException,
  ListDeploymentsCommand,
  ThrottlingException,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotConfigured } from '../../../../../functions/lib/errors.ts';
import {
  ACTIVE_DEPLOYMENT_STATUSES,
  AliasNotAtRest,
  assertModelReleaseMayStart,
  assertNoCodeDeployment,
  CODE_DEPLOY_ENV,
  CodeDeploymentInProgress,
  type CodeDeployPorts,
  codeDeployPorts,
  codeDeployTargetFromEnv,
  isAtRest,
  isCodeDeploymentInProgress,
} from '../../../../../functions/lib/releases/code-deploy-guard.ts';

const TARGET = {
  applicationName: 'TestStack-CodeReleaseApp',
  deploymentGroupName: 'TestStack-CodeReleaseGroup',
};
const codeDeploy = mockClient(CodeDeployClient);
const client = new CodeDeployClient({ region: 'eu-west-1' });

/** Ports answering a fixed list of active deployments. */
const deployments = (...ids: string[]): CodeDeployPorts => ({ listActiveDeployments: async () => ids });

beforeEach(() => {
  codeDeploy.reset();
});

describe('codeDeployPorts', () => {
  it('lists the deployment group’s deployments that have not finished', async () => {
    codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: ['d-ABC123'] });
    expect(await codeDeployPorts(client, TARGET).listActiveDeployments()).toEqual(['d-ABC123']);
    const calls = codeDeploy.commandCalls(ListDeploymentsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      applicationName: TARGET.applicationName,
      deploymentGroupName: TARGET.deploymentGroupName,
      includeOnlyStatuses: ['Created', 'Queued', 'InProgress', 'Ready', 'Baking'],
    });
  });

  it('never asks about finished deployments', () => {
    for (const finished of ['Succeeded', 'Failed', 'Stopped'])
      expect(ACTIVE_DEPLOYMENT_STATUSES as readonly string[]).not.toContain(finished);
  });

  it('reads every page', async () => {
    codeDeploy
      .on(ListDeploymentsCommand)
      .resolvesOnce({ deployments: [], nextToken: 'page-2' })
      .resolvesOnce({ deployments: ['d-SECOND'] });
    expect(await codeDeployPorts(client, TARGET).listActiveDeployments()).toEqual(['d-SECOND']);
    const calls = codeDeploy.commandCalls(ListDeploymentsCommand);
    // The paginator reuses one input object, so only the last call's token can be checked.
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.nextToken).toBe('page-2');
  });

  it('answers none without calling AWS when code releases are off', async () => {
    expect(await codeDeployPorts(client, undefined).listActiveDeployments()).toEqual([]);
    expect(codeDeploy.calls()).toHaveLength(0);
  });

  it('fails as NotConfigured, naming the group and the variables, when the group does not exist', async () => {
    codeDeploy
      .on(ListDeploymentsCommand)
      .rejects(
        new DeploymentGroupDoesNotExistException({ message: 'No Deployment Group found', $metadata: {} }),
      );
    const failure = codeDeployPorts(client, TARGET).listActiveDeployments();
    await expect(failure).rejects.toBeInstanceOf(NotConfigured);
    await expect(failure).rejects.toThrow(
      /TestStack-CodeReleaseApp\/TestStack-CodeReleaseGroup \(CODE_DEPLOY_APPLICATION, CODE_DEPLOY_DEPLOYMENT_GROUP\)/,
    );
  });

  it('passes throttling through for the caller to retry', async () => {
    codeDeploy
      .on(ListDeploymentsCommand)
      .rejects(new ThrottlingException({ message: 'slow down', $metadata: {} }));
    await expect(codeDeployPorts(client, TARGET).listActiveDeployments()).rejects.toBeInstanceOf(
      ThrottlingException,
    );
  });
});

describe('isCodeDeploymentInProgress', () => {
  it('is true while a deployment of the group has not finished', async () => {
    expect(await isCodeDeploymentInProgress(deployments('d-1'))).toBe(true);
  });

  it('is false when none is active', async () => {
    expect(await isCodeDeploymentInProgress(deployments())).toBe(false);
  });
});

describe('assertNoCodeDeployment', () => {
  it('refuses with CodeDeploymentInProgress naming every active deployment', async () => {
    const failure = assertNoCodeDeployment(deployments('d-1', 'd-2'));
    await expect(failure).rejects.toBeInstanceOf(CodeDeploymentInProgress);
    await expect(failure).rejects.toMatchObject({
      name: 'CodeDeploymentInProgress',
      status: 409,
      deploymentIds: ['d-1', 'd-2'],
      message: expect.stringMatching(/CodeDeploy deployment d-1, d-2.*after it has finished/),
    });
  });

  it('lets the release go on when no code release runs', async () => {
    await expect(assertNoCodeDeployment(deployments())).resolves.toBeUndefined();
  });
});

describe('isAtRest', () => {
  it('is true for one version, or a second one at weight 0', () => {
    expect(isAtRest({ version: '4' })).toBe(true);
    expect(isAtRest({ version: '4', additional: { version: '7', weight: 0 } })).toBe(true);
  });

  it('is false while a second version takes traffic', () => {
    expect(isAtRest({ version: '4', additional: { version: '7', weight: 0.05 } })).toBe(false);
  });
});

describe('assertModelReleaseMayStart', () => {
  it('returns the version the release starts from and must hand the alias back to', async () => {
    expect(await assertModelReleaseMayStart({ version: '4' }, deployments())).toEqual({ baseVersion: '4' });
  });

  it('refuses while CodeDeploy shifts the alias, even before looking at the weights', async () => {
    await expect(
      assertModelReleaseMayStart(
        { version: '4', additional: { version: '5', weight: 0.1 } },
        deployments('d-9'),
      ),
    ).rejects.toBeInstanceOf(CodeDeploymentInProgress);
  });

  it('refuses an alias left between two versions, describing the split', async () => {
    const failure = assertModelReleaseMayStart(
      { version: '4', additional: { version: '7', weight: 0.25 } },
      deployments(),
    );
    await expect(failure).rejects.toBeInstanceOf(AliasNotAtRest);
    await expect(failure).rejects.toThrow(/not at rest \(v4 75% \+ v7 25%\).*mlops rollback/);
  });
});

describe('codeDeployTargetFromEnv', () => {
  it('reads the deployment group CodeRelease.bindTo names', () => {
    expect(
      codeDeployTargetFromEnv({
        [CODE_DEPLOY_ENV.application]: TARGET.applicationName,
        [CODE_DEPLOY_ENV.deploymentGroup]: TARGET.deploymentGroupName,
      }),
    ).toEqual(TARGET);
  });

  it('is undefined when code releases are off (neither variable set)', () => {
    expect(codeDeployTargetFromEnv({})).toBeUndefined();
  });

  it.each([[{ [CODE_DEPLOY_ENV.application]: 'app' }], [{ [CODE_DEPLOY_ENV.deploymentGroup]: 'group' }]])(
    'fails naming both variables when only one is set (%o)',
    (env) => {
      expect(() => codeDeployTargetFromEnv(env)).toThrow(
        /set both CODE_DEPLOY_APPLICATION and CODE_DEPLOY_DEPLOYMENT_GROUP, or neither/,
      );
    },
  );

  it('fails on an empty name', () => {
    expect(() =>
      codeDeployTargetFromEnv({ [CODE_DEPLOY_ENV.application]: '', [CODE_DEPLOY_ENV.deploymentGroup]: 'g' }),
    ).toThrow(/invalid function configuration/);
  });
});
