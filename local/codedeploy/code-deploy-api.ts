// The read side of the CodeDeploy API for the template's deployment groups, in the AWS JSON 1.1
// protocol the SDK speaks (`POST /` with `x-amz-target: CodeDeploy_20141006.<Operation>`).
// Code releases never run locally: the runtime creates each alias from the template at start, as
// CloudFormation does on stack creation, so no deployment ever exists here. A model release still
// asks (functions/lib/releases/code-deploy-guard.ts), and gets that true answer — or, for a name
// the template does not declare, the error AWS would give. Only SigV4-signed requests are served.
// Served on the gateway port (local/gateway/server.ts, option `codeDeploy`, built by
// local/platform.ts from every stack's template); functions reach it through
// AWS_ENDPOINT_URL_CODEDEPLOY, the SDK's standard setting.
import type { IncomingMessage } from 'node:http';
import type { Respond } from '../gateway/invoke-api.ts';
import { header, readBody } from '../gateway/request.ts';

const TARGET_PREFIX = 'CodeDeploy_20141006.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_REQUEST_BYTES = 64 * 1024;

/** Application name → its deployment groups' names, as the template declares them. */
export type DeploymentGroups = ReadonlyMap<string, ReadonlySet<string>>;

type Resources = Readonly<
  Record<string, { readonly Type: string; readonly Properties?: Readonly<Record<string, unknown>> }>
>;

/**
 * The template's CodeDeploy applications and deployment groups by name. `nameOf` gives a
 * resource's physical name (what `Ref` resolves to locally); `resolve` resolves a property value.
 */
export function deploymentGroupsFromTemplate(
  resources: Resources,
  nameOf: (logicalId: string) => string,
  resolve: (value: unknown) => unknown,
): Map<string, Set<string>> {
  const groups = new Map<string, Set<string>>();
  for (const [id, r] of Object.entries(resources))
    if (r.Type === 'AWS::CodeDeploy::Application') groups.set(nameOf(id), new Set());
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::CodeDeploy::DeploymentGroup') continue;
    const application = String(resolve(r.Properties?.ApplicationName));
    const name = (r.Properties?.DeploymentGroupName as string | undefined) ?? nameOf(id);
    const known = groups.get(application) ?? new Set<string>();
    known.add(name);
    groups.set(application, known);
  }
  return groups;
}

/** True when the request is a CodeDeploy API call. */
export function isCodeDeployRequest(req: IncomingMessage): boolean {
  return header(req, 'x-amz-target')?.startsWith(TARGET_PREFIX) ?? false;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Operation = (groups: DeploymentGroups, input: Readonly<Record<string, unknown>>) => unknown;

const text = (input: Readonly<Record<string, unknown>>, field: string, missing: string): string => {
  const value = input[field];
  if (value === undefined || value === '') throw new ApiError(missing, `${field} is required`);
  if (typeof value !== 'string') throw new ApiError('InvalidInputException', `${field} must be a string`);
  return value;
};

const application = (groups: DeploymentGroups, input: Readonly<Record<string, unknown>>) => {
  const name = text(input, 'applicationName', 'ApplicationNameRequiredException');
  const known = groups.get(name);
  if (!known)
    throw new ApiError('ApplicationDoesNotExistException', `No application found for name: ${name}`);
  return { name, known };
};

const OPERATIONS: Readonly<Record<string, Operation>> = {
  ListApplications: (groups) => ({ applications: [...groups.keys()].sort() }),
  ListDeploymentGroups: (groups, input) => {
    const { name, known } = application(groups, input);
    return { applicationName: name, deploymentGroups: [...known].sort() };
  },
  ListDeployments: (groups, input) => {
    if (input.applicationName === undefined && input.deploymentGroupName === undefined)
      return { deployments: [] };
    const { name, known } = application(groups, input);
    const group = text(input, 'deploymentGroupName', 'DeploymentGroupNameRequiredException');
    if (!known.has(group))
      throw new ApiError(
        'DeploymentGroupDoesNotExistException',
        `No Deployment Group found for name: ${group} in application ${name}`,
      );
    return { deployments: [] };
  },
  GetDeployment: (_, input) => {
    const id = text(input, 'deploymentId', 'DeploymentIdRequiredException');
    throw new ApiError('DeploymentDoesNotExistException', `The deployment ${id} could not be found`);
  },
};

/** Answer one CodeDeploy API request. */
export async function codeDeployApi(
  groups: DeploymentGroups,
  req: IncomingMessage,
  respond: Respond,
): Promise<void> {
  const fail = (err: ApiError) =>
    respond(err.status, JSON.stringify({ __type: err.type, message: err.message }), {
      'content-type': CONTENT_TYPE,
    });
  if (!header(req, 'authorization')?.startsWith('AWS4-HMAC-SHA256'))
    return fail(new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403));
  const name = (header(req, 'x-amz-target') ?? '').slice(TARGET_PREFIX.length);
  const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (req.method !== 'POST' || !operation)
    return fail(
      new ApiError(
        'UnknownOperationException',
        `${name || '(none)'} is not an operation the local runtime serves`,
      ),
    );
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (body === undefined)
    return fail(
      new ApiError('SerializationException', `Request must be smaller than ${MAX_REQUEST_BYTES} bytes`, 413),
    );
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return fail(new ApiError('SerializationException', 'The request body is not valid JSON'));
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return fail(new ApiError('SerializationException', 'The request body must be a JSON object'));
  try {
    respond(200, JSON.stringify(operation(groups, input as Readonly<Record<string, unknown>>)), {
      'content-type': CONTENT_TYPE,
    });
  } catch (err) {
    if (err instanceof ApiError) return fail(err);
    throw err;
  }
}
