// `mlops models list | show | promote | archive`: the registry, through the same code the functions use.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { num, table } from '../format.ts';
import { clientOptions, type Target } from '../target.ts';

function registryFor(target: Target): DynamoDbModelRegistry {
  const tableName = target.outputs.RegistryTableName;
  if (!tableName) throw new Error('the stack has no RegistryTableName output');
  return new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(target, 'dynamodb'))),
    tableName,
  );
}

export async function modelsCommand(
  target: Target,
  args: { action: string; model?: string; version?: string; reason?: string; json: boolean },
): Promise<number> {
  const registry = registryFor(target);
  if (args.action === 'history') {
    if (!args.model) throw new Error('usage: mlops models history <model>');
    const events = await registry.listAuditEvents(args.model);
    if (args.json) console.log(JSON.stringify(events, null, 2));
    else if (events.length === 0) console.log(`no history for ${args.model}`);
    else
      console.log(
        table(
          ['at', 'action', 'version', 'replaced', 'by', 'reason'],
          events.map((e) => [e.at, e.action, e.version, e.previousVersion ?? '', e.actor, e.reason ?? '']),
        ),
      );
    return 0;
  }
  if (args.action === 'promote' || args.action === 'archive') {
    const version = Number(args.version);
    if (!args.model || !Number.isInteger(version) || version < 1)
      throw new Error(`usage: mlops models ${args.action} <model> <version> [--reason "…"]`);
    const actor = `mlops-cli (${process.env.USER ?? 'unknown user'})`;
    const opts = { actor, ...(args.reason ? { reason: args.reason } : {}) };
    const changed =
      args.action === 'promote'
        ? await registry.promoteToProduction(args.model, version, opts)
        : await registry.archiveVersion(args.model, version, opts);
    if (args.json) console.log(JSON.stringify(changed, null, 2));
    else console.log(`${changed.model} v${changed.version} is now ${changed.stage}`);
    return 0;
  }
  if (args.action === 'list') {
    const models = await registry.listModels();
    if (args.json) console.log(JSON.stringify(models, null, 2));
    else if (models.length === 0) console.log('no models registered');
    else
      console.log(
        table(
          ['model', 'production', 'latest'],
          models.map((m) => [m.model, m.productionVersion ?? '-', m.latestVersion]),
        ),
      );
    return 0;
  }
  if (args.action === 'show') {
    if (!args.model) throw new Error('usage: mlops models show <model>');
    const versions = await registry.listVersions(args.model);
    if (versions.length === 0) {
      console.error(`no versions of ${args.model}`);
      return 1;
    }
    if (args.json) {
      console.log(JSON.stringify(versions, null, 2));
      return 0;
    }
    const metric = (m: Record<string, unknown>, k: string) =>
      (m.test as Record<string, unknown> | undefined)?.[k];
    console.log(
      table(
        ['version', 'stage', 'trainer', 'auc', 'logloss', 'created', 'run', 'artifact sha256'],
        versions.map((v) => [
          v.version,
          v.stage,
          String(v.params.trainer ?? 'logreg'),
          num(metric(v.metrics, 'auc')),
          num(metric(v.metrics, 'logLoss')),
          v.createdAt,
          v.trainingRunId,
          v.artifactSha256.slice(0, 12),
        ]),
      ),
    );
    return 0;
  }
  throw new Error(`unknown action "models ${args.action}": use list, show, history, promote or archive`);
}
