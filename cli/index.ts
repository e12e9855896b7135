// `mlops`: one CLI for the local platform and AWS. `mlops help` lists the verbs.
import { parseArgs } from 'node:util';
import { alarmsCommand } from './commands/alarms.ts';
import { driftCheckCommand, driftSimulateCommand } from './commands/drift.ts';
import { modelsCommand } from './commands/models.ts';
import { predictCommand } from './commands/predict.ts';
import { releaseCommand, rollbackCommand } from './commands/release.ts';
import { releaseStatusCommand } from './commands/release-status.ts';
import { replayCommand } from './commands/replay.ts';
import { runsCommand } from './commands/runs.ts';
import { scoreCommand } from './commands/score.ts';
import { trafficCommand } from './commands/traffic.ts';
import { trainCommand } from './commands/train.ts';
import { resolveTarget } from './target.ts';

// Node 20 is supported; the SDK's notice about its future end of support would only add noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: mlops <command> [options]

  predict <model> --file rows.json | --instances '[{…}]'   score rows with the model's serving version
  models list                                              models with their Production and latest versions
  models show <model>                                      a model's versions, stages, metrics and lineage
  models history <model>                                   every registration and stage change: when, who, why
  models promote <model> <version> [--reason "…"]          make a version the Production version (conditional write)
  models archive <model> <version> [--reason "…"]          archive a version that is not Production
  train [--trainer logreg|gbdt|container] [--model m] [--data s3://…|file.json] [--run-id id]
        [--params '{"l2":0.5}'] [--subgroup origin_region|distance_band|day_part] [--min-auc 0.6]
        [--image ecr-uri] [--promote]
                                                           run the training pipeline (seed dataset by default), step by
                                                           step, and register a Staging version; --promote also makes it
                                                           the Production version
  score <file.csv|.jsonl[.gz]> [--model m] [--version n] [--key-column c]
                                                           drop a file for batch scoring, wait, print the output and counts
  runs list [--model m]                                    recent training runs
  runs show <runId>                                        a run's steps: status, duration, output, error
  drift check [--model m] [--start ISO --end ISO]           run the drift check on a window (default: the last full one)
                                                           and print each model's verdict, alert and report
  drift simulate [--shift covariate|label|concept|none] [--rows 3000] [--windows 2] [--labelled-rows 9000] [--seed 1]
        [--bake 5s]                                        replay shifted flights through the API, check each window,
                                                           follow the retraining the alarm starts to its decision, and
                                                           a winning challenger's release (--bake: its steps' bake when
                                                           this command starts the retraining; 5s locally)
  traffic <model> [--shift none|covariate|label|concept] [--rows 3000] [--batch 20] [--concurrency 4] [--outcomes]
                                                           send seed flights through the API as clients would; with
                                                           --outcomes, drop their outcomes as ground truth afterwards
  replay <model> <challenger-version> [--window 24h] [--limit 1000]
                                                           score the window's captured requests again with a challenger,
                                                           offline, and print the shadow comparison report
  release <model> <version> [--strategy canary|linear|all-at-once|blue-green] [--plan 5,25,50,100] [--bake 5m]
        [--check-interval 30s]                             release a Staging version on the live alias step by step,
                                                           rolling back at once on a breach; Production on success,
                                                           then live handed back at rest to the version it started from
  release <model> <version> --strategy champion-challenger [--slice 10] [--window 24h] [--metric auc|log-loss]
        [--bake 5m] [--settle 2m]                          the challenger serves a fixed slice for the window; then its
                                                           live predictions and the champion's are joined with the ground
                                                           truth that arrived, and it takes all traffic (and Production)
                                                           only if it beat the champion beyond noise; else rolled back
  release <model> <version> --strategy shadow [--bake 1h] [--settle 2m]
                                                           the challenger answers copies of live requests for the bake
                                                           (live alias and registry untouched); prints the comparison's
                                                           verdict and report (exit 0 only when it passes)
  rollback <model> [--reason "…"]                          all traffic back on the version live before the model's last
                                                           release (a running one stops at its next step)
  status <model>                                           live weights and versions, the model version each serves,
                                                           the watched alarms, the release's step and a running shadow
  alarms [--state ALARM|OK|INSUFFICIENT_DATA] [--prefix P]
                                                           the CloudWatch alarms: state, since when, and why
  status                                                   where the platform is and what it exposes

options:
  --target local|aws   default: local when .mlops/local.json exists (written by npm start), else aws
  --stack NAME         CloudFormation stack (default MlopsStack)
  --json               machine-readable output`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      stack: { type: 'string', default: 'MlopsStack' },
      json: { type: 'boolean', default: false },
      file: { type: 'string' },
      instances: { type: 'string' },
      model: { type: 'string' },
      dataset: { type: 'string' },
      data: { type: 'string' }, // short for --dataset
      'feature-set': { type: 'string', default: 'flights-v1' },
      promote: { type: 'boolean', default: false },
      trainer: { type: 'string' },
      'run-id': { type: 'string' },
      params: { type: 'string' },
      subgroup: { type: 'string' },
      'min-auc': { type: 'string' },
      image: { type: 'string' },
      reason: { type: 'string' },
      version: { type: 'string' },
      'key-column': { type: 'string' },
      state: { type: 'string' },
      shift: { type: 'string' },
      rows: { type: 'string', default: '3000' },
      windows: { type: 'string', default: '2' },
      'labelled-rows': { type: 'string', default: '9000' },
      seed: { type: 'string', default: '1' },
      start: { type: 'string' },
      end: { type: 'string' },
      prefix: { type: 'string' },
      window: { type: 'string' },
      limit: { type: 'string' },
      strategy: { type: 'string' },
      plan: { type: 'string' },
      bake: { type: 'string' },
      'check-interval': { type: 'string' },
      settle: { type: 'string' },
      slice: { type: 'string' },
      batch: { type: 'string' },
      concurrency: { type: 'string' },
      outcomes: { type: 'boolean', default: false },
      metric: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (!command || values.help || command === 'help') {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const target = await resolveTarget(values.target, values.stack);
  // Say where the command goes: a `train --promote` against AWS by accident must not be silent.
  if (!values.json) console.error(`target: ${target.kind} (${target.apiUrl})`);
  switch (command) {
    case 'predict':
      if (!rest[0]) throw new Error('usage: mlops predict <model> --file rows.json');
      return predictCommand(target, {
        model: rest[0],
        file: values.file,
        instances: values.instances,
        json: values.json,
      });
    case 'models':
      return modelsCommand(target, {
        action: rest[0] ?? 'list',
        model: rest[1],
        version: rest[2],
        reason: values.reason,
        json: values.json,
      });
    case 'score':
      if (!rest[0]) throw new Error('usage: mlops score <file> [--model m]');
      return scoreCommand(target, {
        file: rest[0],
        model: values.model ?? 'flight-delay',
        version: values.version,
        keyColumn: values['key-column'],
        json: values.json,
      });
    case 'runs':
      return runsCommand(target, {
        action: rest[0] ?? 'list',
        runId: rest[1],
        model: values.model,
        json: values.json,
      });
    case 'train':
      return trainCommand(target, {
        model: values.model ?? 'flight-delay',
        dataset: values.data ?? values.dataset,
        featureSet: values['feature-set'],
        trainer: values.trainer,
        runId: values['run-id'],
        params: values.params,
        subgroup: values.subgroup,
        minAuc: values['min-auc'],
        image: values.image,
        promote: values.promote,
        json: values.json,
      });
    case 'drift':
      if (rest[0] === 'check')
        return driftCheckCommand(target, {
          model: values.model,
          start: values.start,
          end: values.end,
          json: values.json,
        });
      if (rest[0] === 'simulate')
        return driftSimulateCommand(target, {
          shift: values.shift ?? 'covariate',
          model: values.model ?? 'flight-delay',
          rows: Number(values.rows),
          windows: Number(values.windows),
          labelledRows: Number(values['labelled-rows']),
          seed: Number(values.seed),
          releaseBake: values.bake,
          json: values.json,
        });
      throw new Error('usage: mlops drift check|simulate [options]');
    case 'traffic':
      return trafficCommand(target, {
        model: rest[0],
        shift: values.shift,
        rows: Number(values.rows),
        batch: Number(values.batch ?? '20'),
        concurrency: Number(values.concurrency ?? '4'),
        seed: Number(values.seed),
        outcomes: values.outcomes,
        json: values.json,
      });
    case 'replay':
      return replayCommand(target, {
        model: rest[0],
        challengerVersion: rest[1],
        window: values.window,
        limit: values.limit,
        json: values.json,
      });
    case 'alarms':
      return alarmsCommand(target, { state: values.state, prefix: values.prefix, json: values.json });
    case 'release':
      return releaseCommand(target, {
        model: rest[0],
        version: rest[1],
        strategy: values.strategy,
        plan: values.plan,
        bake: values.bake,
        checkInterval: values['check-interval'],
        settle: values.settle,
        slice: values.slice,
        window: values.window,
        metric: values.metric,
        json: values.json,
      });
    case 'rollback':
      return rollbackCommand(target, { model: rest[0], reason: values.reason, json: values.json });
    case 'status':
      if (rest[0]) return releaseStatusCommand(target, { model: rest[0], json: values.json });
      if (values.json)
        console.log(
          JSON.stringify({ target: target.kind, apiUrl: target.apiUrl, outputs: target.outputs }, null, 2),
        );
      else {
        console.log(`target   ${target.kind}\napi      ${target.apiUrl}`);
        for (const [k, v] of Object.entries(target.outputs)) console.log(`${k.padEnd(22)} ${v}`);
      }
      return 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`mlops: ${(err as Error).message}`);
    process.exit(1);
  },
);
