// REST API features a template can declare that the local gateway does not enforce, named by
// logical id so the start-up report says what behaves differently from AWS. The wording
// `<id>: <Feature> is not emulated locally (…)` is what local/index.ts groups per resource.
import type { TemplateResources } from './rest-api-model.ts';

const line = (id: string, feature: string, why: string) =>
  `${id}: ${feature} is not emulated locally (${why})`;

/** One warning per declared, unenforced feature, in template order. */
export function unemulatedApiFeatures(template: TemplateResources): string[] {
  const warnings: string[] = [];
  for (const [id, { Type, Properties: props = {} }] of Object.entries(template.Resources)) {
    switch (Type) {
      case 'AWS::ApiGateway::UsagePlan': {
        if (props.Quota !== undefined) warnings.push(line(id, 'Quota', 'requests are not counted'));
        const stages = (props.ApiStages as Array<{ Throttle?: Record<string, unknown> }> | undefined) ?? [];
        if (stages.some((s) => Object.keys(s.Throttle ?? {}).length > 0))
          warnings.push(line(id, 'ApiStages.Throttle', "per-method throttles; the plan's Throttle applies"));
        break;
      }
      case 'AWS::ApiGateway::Stage': {
        const settings = (props.MethodSettings as Array<Record<string, unknown>> | undefined) ?? [];
        const perMethod = settings
          .filter((s) => !(s.ResourcePath === '/*' && s.HttpMethod === '*'))
          .map((s) => `${String(s.HttpMethod)} ${String(s.ResourcePath)}`);
        if (perMethod.length > 0)
          warnings.push(
            line(
              id,
              'MethodSettings',
              `only the "/*" "*" throttle applies; ignored: ${perMethod.join(', ')}`,
            ),
          );
        break;
      }
      case 'AWS::ApiGateway::Authorizer':
        warnings.push(line(id, 'Authorizer', 'the methods it guards accept every request'));
        break;
      case 'AWS::ApiGateway::RequestValidator':
        warnings.push(line(id, 'RequestValidator', 'requests are not validated'));
        break;
      case 'AWS::ApiGateway::Model':
        warnings.push(line(id, 'Model', 'bodies are not checked against it'));
        break;
      case 'AWS::ApiGateway::Method': {
        const type = props.AuthorizationType;
        if (type !== undefined && type !== 'NONE')
          warnings.push(line(id, 'AuthorizationType', `${String(type)}: requests are not authorized`));
        break;
      }
    }
  }
  return warnings;
}
