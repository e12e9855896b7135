// The local CodeDeploy read API: a model release's guard, configured as the stack binds it, asks
// the local runtime whether a code release runs and gets the true local answer (none), while a
// name the template does not declare gets the error AWS would give.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodeDeployClient,
  DeploymentDoesNotExistException,
  GetDeploymentCommand,
  ListApplicationsCommand,
  ListDeploymentGroupsCommand,
} from '@aws-sdk/client-codedeploy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotConfigured } from '../../../../functions/lib/errors.ts';
import {
  CODE_DEPLOY_ENV,
  codeDeployPorts,
  codeDeployTargetFromEnv,
} from '../../../../functions/lib/releases/code-deploy-guard.ts';
import {
  codeDeployApi,
  deploymentGroupsFromTemplate,
  isCodeDeployRequest,
} from '../../../../local/codedeploy/code-deploy-api.ts';
import { classifyResources, type ResourceReport } from '../../../../local/resource-support.ts';
import { stackResolution } from '../../../../local/stack-resolution.ts';
import { loadCloudAssembly } from '../../../../local/template/cloud-assembly.ts';
import { resolveValue } from '../../../../local/template/intrinsics.ts';
import { synthStack } from '../../../infra/synth-stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlops-codedeploy-'));
let server: Server;
let client: CodeDeployClient;
let boundEnv: Record<string, string>;
let report: ResourceReport;

beforeAll(async () => {
  // A function bound as the release's would be (the drift check stands in for it): the names it
  // gets are the template's.
  const { stack } = synthStack(
    {},
    { outdir: join(dir, 'cdk.out'), mutate: (s) => s.codeRelease?.bindTo(s.driftMonitor.driftCheckFunction) },
  );
  const assembly = loadCloudAssembly(join(dir, 'cdk.out'));
  const assemblyStack = assembly.stacks.find((s) => s.stackName === stack.stackName);
  if (!assemblyStack) throw new Error('stack not synthesized');
  const resources = assemblyStack.template.Resources ?? {};
  report = classifyResources(assemblyStack.stackName, resources);
  const { ctx } = stackResolution(assemblyStack, 'http://127.0.0.1:1');
  const resolve = (value: unknown) => resolveValue(value, ctx);
  const groups = deploymentGroupsFromTemplate(resources, (id) => String(resolve({ Ref: id })), resolve);
  const variablesOf = (r: (typeof resources)[string]) =>
    (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const bound = Object.values(resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && CODE_DEPLOY_ENV.application in variablesOf(r),
  );
  if (!bound) throw new Error('no function is bound to the deployment group');
  const variables = variablesOf(bound);
  boundEnv = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(resolve(v))]));

  server = createServer((req, res) => {
    const respond = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, headers).end(body);
    };
    if (!isCodeDeployRequest(req)) return respond(404, 'not a CodeDeploy request');
    codeDeployApi(groups, req, respond).catch(() => respond(500, 'local fault'));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  client = new CodeDeployClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client?.destroy();
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('local CodeDeploy API', () => {
  it('reports the code release resources as having no local meaning, saying why', () => {
    const codeDeploy = report.noLocalMeaning.filter((line) =>
      /^CodeRelease(Application|DeploymentGroup)[0-9A-F]{8} /.test(line),
    );
    expect(codeDeploy).toHaveLength(2);
    for (const line of codeDeploy)
      expect(line).toMatch(/code releases \(CodeDeploy\) shift an alias only when a deploy updates it/);
    expect(report.notEmulated.filter((line) => line.includes('CodeDeploy'))).toEqual([]);
  });

  it('tells the guard that no code release runs for the group the stack binds', async () => {
    const target = codeDeployTargetFromEnv(boundEnv);
    expect(target).toBeDefined();
    expect(await codeDeployPorts(client, target).listActiveDeployments()).toEqual([]);
  });

  it('lists the template’s application and its deployment group', async () => {
    const application = boundEnv[CODE_DEPLOY_ENV.application] ?? '';
    expect((await client.send(new ListApplicationsCommand({}))).applications).toEqual([application]);
    expect(
      (await client.send(new ListDeploymentGroupsCommand({ applicationName: application }))).deploymentGroups,
    ).toEqual([boundEnv[CODE_DEPLOY_ENV.deploymentGroup]]);
  });

  it('answers DeploymentGroupDoesNotExist for a group the template does not declare', async () => {
    const target = {
      applicationName: boundEnv[CODE_DEPLOY_ENV.application] ?? '',
      deploymentGroupName: 'NoSuchGroup',
    };
    await expect(codeDeployPorts(client, target).listActiveDeployments()).rejects.toThrow(NotConfigured);
    await expect(codeDeployPorts(client, target).listActiveDeployments()).rejects.toThrow(
      /No Deployment Group/,
    );
  });

  it('answers ApplicationDoesNotExist for an unknown application', async () => {
    const target = { applicationName: 'NoSuchApp', deploymentGroupName: 'g' };
    await expect(codeDeployPorts(client, target).listActiveDeployments()).rejects.toThrow(
      /No application found for name: NoSuchApp/,
    );
  });

  it('knows no deployment', async () => {
    await expect(client.send(new GetDeploymentCommand({ deploymentId: 'd-123' }))).rejects.toBeInstanceOf(
      DeploymentDoesNotExistException,
    );
  });

  it('refuses unsigned requests and unknown operations', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'x-amz-target': 'CodeDeploy_20141006.ListApplications' },
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    const unknown = await fetch(url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'CodeDeploy_20141006.CreateDeployment',
        authorization: 'AWS4-HMAC-SHA256 x',
      },
      body: '{}',
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});
