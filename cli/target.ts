// Finds the platform the CLI talks to: the local one through .mlops/local.json, or AWS
// through the standard SDK configuration and the stack's CloudFormation outputs. Every verb
// then uses the same SDK calls against either.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { LOCAL_CREDENTIALS } from '../local/emulators/local-aws.ts';

export interface Target {
  readonly kind: 'local' | 'aws';
  /** CloudFormation stack name (alarm names start with it). */
  readonly stackName: string;
  /** Base URL of the prediction API (ends with `/`). */
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly outputs: Readonly<Record<string, string>>;
  /** SDK client settings: endpoints for local, nothing extra for AWS. */
  readonly clientConfig: {
    readonly region?: string;
    readonly credentials?: { accessKeyId: string; secretAccessKey: string };
    readonly endpoints: {
      readonly s3?: string;
      readonly dynamodb?: string;
      readonly lambda?: string;
      readonly sfn?: string;
      readonly cloudwatch?: string;
    };
  };
}

interface LocalState {
  url: string;
  apiKey: string;
  region: string;
  /** `sfn` and `cloudwatch` are absent in state files written before those ran locally. */
  endpoints: { s3: string; dynamodb: string; lambda: string; sfn?: string; cloudwatch?: string };
  stacks: Record<string, { outputs: Record<string, string> }>;
}

/** `.mlops/local.json` in this folder or the nearest parent that has one (as git finds `.git`). */
export function findStateFile(from = process.cwd()): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, '.mlops', 'local.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** `--target local|aws`; by default local when a local platform has written its state file. */
export async function resolveTarget(
  kind: string | undefined,
  stackName: string,
  stateFile = process.env.MLOPS_STATE_FILE ?? findStateFile(),
): Promise<Target> {
  const found = stateFile !== undefined && existsSync(stateFile);
  const wanted = kind ?? (found ? 'local' : 'aws');
  if (wanted === 'local') {
    if (!stateFile || !found) {
      throw new Error('no local platform found (no .mlops/local.json here or above): run `npm start` first');
    }
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalState;
    const stack = state.stacks[stackName] ?? Object.values(state.stacks)[0];
    if (!stack) throw new Error(`${stateFile} lists no stacks`);
    return {
      kind: 'local',
      stackName: state.stacks[stackName] ? stackName : (Object.keys(state.stacks)[0] ?? stackName),
      apiUrl: state.url,
      apiKey: state.apiKey,
      outputs: stack.outputs,
      clientConfig: {
        region: state.region,
        credentials: { ...LOCAL_CREDENTIALS },
        // Never let a local target's client fall through to AWS: all APIs share the gateway port.
        endpoints: {
          ...state.endpoints,
          sfn: state.endpoints.sfn ?? state.endpoints.lambda,
          cloudwatch: state.endpoints.cloudwatch ?? state.endpoints.lambda,
        },
      },
    };
  }
  if (wanted !== 'aws') throw new Error(`--target must be local or aws (got ${wanted})`);
  const cfn = new CloudFormationClient({});
  const described = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = Object.fromEntries(
    (described.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
  const key = outputs.ApiKeyId
    ? await new APIGatewayClient({}).send(
        new GetApiKeyCommand({ apiKey: outputs.ApiKeyId, includeValue: true }),
      )
    : undefined;
  return {
    kind: 'aws',
    stackName,
    apiUrl: outputs.ApiUrl ?? '',
    apiKey: key?.value ?? '',
    outputs,
    clientConfig: { endpoints: {} },
  };
}

/** Options for an SDK v3 client of `service` against the target. */
export function clientOptions(target: Target, service: 's3' | 'dynamodb' | 'lambda' | 'sfn' | 'cloudwatch') {
  const endpoint = target.clientConfig.endpoints[service];
  return {
    ...(target.clientConfig.region ? { region: target.clientConfig.region } : {}),
    ...(target.clientConfig.credentials ? { credentials: target.clientConfig.credentials } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(service === 's3' && endpoint
      ? {
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  } as const;
}
