// Reads the REST APIs a template declares into routes the local gateway can serve: paths
// from the Resource tree, methods with their Lambda proxy target, stage names, API keys and
// usage-plan throttles.
import { unemulatedApiFeatures } from './unemulated-features.ts';

/** The slice of a CloudFormation template this module reads. */
export interface TemplateResources {
  readonly Resources: Readonly<
    Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>
  >;
}

export interface Route {
  readonly httpMethod: string;
  /** API Gateway resource path, e.g. `/models/{model}/predict`. */
  readonly resourcePath: string;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  readonly apiKeyRequired: boolean;
  /** Resolved integration URI's function ARN (may carry an alias qualifier). */
  readonly functionArn: string;
}

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface RestApiModel {
  readonly logicalId: string;
  /** The API's `Name` (the ApiName dimension of its CloudWatch metrics). @default the logical id */
  readonly name?: string;
  readonly stageName: string;
  readonly stageThrottle?: Throttle;
  readonly routes: readonly Route[];
  /**
   * API key logical id → the throttle of its usage plan on this API's stage. Only enabled keys:
   * a key missing here is refused (403) like a wrong one.
   */
  readonly keyThrottles: ReadonlyMap<string, Throttle | undefined>;
}

type Resolve = (value: unknown) => unknown;

const refOf = (v: unknown): string | undefined => (v as { Ref?: string } | undefined)?.Ref;
const getAttOf = (v: unknown): [string, string] | undefined => {
  const g = (v as { 'Fn::GetAtt'?: [string, string] | string } | undefined)?.['Fn::GetAtt'];
  if (Array.isArray(g)) return g;
  if (typeof g === 'string') return g.split('.', 2) as [string, string];
  return undefined;
};

/** What the gateway serves for a template, and what it declares but the gateway ignores. */
export interface RestApiSetup {
  readonly apis: RestApiModel[];
  /** `<logicalId>: <Feature> is not emulated locally (…)`, for the start-up report. */
  readonly warnings: string[];
}

/** {@link readRestApis} plus warnings for the features the local gateway does not enforce. */
export function readRestApiSetup(template: TemplateResources, resolve: Resolve): RestApiSetup {
  return { apis: readRestApis(template, resolve), warnings: unemulatedApiFeatures(template) };
}

/** Build a RestApiModel per `AWS::ApiGateway::RestApi`. `resolve` resolves intrinsics locally. */
export function readRestApis(template: TemplateResources, resolve: Resolve): RestApiModel[] {
  const entries = Object.entries(template.Resources);
  const ofType = (type: string) => entries.filter(([, r]) => r.Type === type);
  const pathOf = (resourceRef: unknown): string => {
    if (getAttOf(resourceRef)?.[1] === 'RootResourceId') return '';
    const id = refOf(resourceRef);
    const res = id ? template.Resources[id] : undefined;
    if (!id || res?.Type !== 'AWS::ApiGateway::Resource')
      throw new Error(`cannot follow API resource ${JSON.stringify(resourceRef)}`);
    return `${pathOf(res.Properties?.ParentId)}/${String(res.Properties?.PathPart)}`;
  };

  return ofType('AWS::ApiGateway::RestApi').map(([apiId, apiResource]) => {
    const belongs = (props: Record<string, unknown> | undefined) => refOf(props?.RestApiId) === apiId;
    const stage = ofType('AWS::ApiGateway::Stage').find(([, r]) => belongs(r.Properties));
    const stageName = String(stage?.[1].Properties?.StageName ?? 'prod');
    const stageLogicalId = stage?.[0];
    const settings = (
      stage?.[1].Properties?.MethodSettings as Array<Record<string, unknown>> | undefined
    )?.find((s) => s.ResourcePath === '/*' && s.HttpMethod === '*');
    const stageThrottle =
      settings?.ThrottlingRateLimit !== undefined
        ? {
            rateLimit: Number(settings.ThrottlingRateLimit),
            burstLimit: Number(settings.ThrottlingBurstLimit ?? settings.ThrottlingRateLimit),
          }
        : undefined;

    const routes: Route[] = [];
    for (const [methodId, method] of ofType('AWS::ApiGateway::Method')) {
      const props = method.Properties ?? {};
      if (!belongs(props)) continue;
      const integration = props.Integration as { Type?: string; Uri?: unknown } | undefined;
      if (integration?.Type !== 'AWS_PROXY')
        throw new UnsupportedIntegration(methodId, String(integration?.Type ?? 'none'));
      const uri = String(resolve(integration.Uri));
      const functionArn = /functions\/(.+)\/invocations$/.exec(uri)?.[1];
      if (!functionArn) throw new UnsupportedIntegration(methodId, `non-Lambda URI ${uri}`);
      const resourcePath = pathOf(props.ResourceId) || '/';
      const paramNames: string[] = [];
      const pattern = new RegExp(
        `^${resourcePath.replace(/\{([^}+]+)(\+?)\}/g, (_m, name: string, greedy: string) => {
          paramNames.push(name);
          return greedy ? '(.+)' : '([^/]+)';
        })}$`,
      );
      routes.push({
        httpMethod: String(props.HttpMethod),
        resourcePath,
        pattern,
        paramNames,
        apiKeyRequired: props.ApiKeyRequired === true,
        functionArn,
      });
    }

    const keyThrottles = new Map<string, Throttle | undefined>();
    for (const [, link] of ofType('AWS::ApiGateway::UsagePlanKey')) {
      const planId = refOf(link.Properties?.UsagePlanId);
      const keyId = refOf(link.Properties?.KeyId);
      const plan = planId ? template.Resources[planId]?.Properties : undefined;
      const stages = (plan?.ApiStages as Array<{ ApiId?: unknown; Stage?: unknown }> | undefined) ?? [];
      const onThisApi = stages.some(
        (s) => refOf(s.ApiId) === apiId && (refOf(s.Stage) === stageLogicalId || s.Stage === stageName),
      );
      if (!keyId || !onThisApi || !isEnabled(template.Resources[keyId]?.Properties?.Enabled, resolve))
        continue;
      const t = plan?.Throttle as { RateLimit?: number; BurstLimit?: number } | undefined;
      keyThrottles.set(
        keyId,
        t?.RateLimit !== undefined
          ? { rateLimit: t.RateLimit, burstLimit: t.BurstLimit ?? t.RateLimit }
          : undefined,
      );
    }
    const name =
      apiResource.Properties?.Name === undefined ? apiId : String(resolve(apiResource.Properties.Name));
    return {
      logicalId: apiId,
      name,
      stageName,
      ...(stageThrottle ? { stageThrottle } : {}),
      routes,
      keyThrottles,
    };
  });
}

/**
 * `Enabled: false` switches a key off. An absent `Enabled` counts as on: CDK always writes it,
 * and hand-written templates that omit it mean a working key.
 */
function isEnabled(enabled: unknown, resolve: Resolve): boolean {
  const value = typeof enabled === 'object' && enabled !== null ? resolve(enabled) : enabled;
  return value !== false && value !== 'false';
}

/** A method integration the local gateway cannot serve (only Lambda proxy is emulated). */
export class UnsupportedIntegration extends Error {
  constructor(
    readonly logicalId: string,
    kind: string,
  ) {
    super(`${logicalId}: integration ${kind} is not emulated locally (only AWS_PROXY to Lambda)`);
  }
}
