// `mlops runs list | show <runId>`: the training run log, step by step.
import { num, table } from '../format.ts';
import { formatStep } from '../pipeline-client.ts';
import type { Target } from '../target.ts';
import { pipelineClients } from './train.ts';

export async function runsCommand(
  target: Target,
  args: { action: string; runId?: string; model?: string; json: boolean },
): Promise<number> {
  const { runLog } = pipelineClients(target);
  if (args.action === 'list') {
    const runs = await runLog.listRuns(args.model ? { model: args.model } : {});
    if (args.json) console.log(JSON.stringify(runs, null, 2));
    else if (runs.length === 0) console.log('no training runs yet');
    else
      console.log(
        table(
          ['run', 'model', 'trainer', 'status', 'version', 'started', 'failed step'],
          runs.map((r) => [
            r.runId,
            r.model,
            r.trainer,
            r.status,
            r.version ?? '-',
            r.startedAt,
            r.failedStep ?? '',
          ]),
        ),
      );
    return 0;
  }
  if (args.action === 'show') {
    if (!args.runId) throw new Error('usage: mlops runs show <runId>');
    const run = await runLog.getRun(args.runId);
    if (!run) {
      console.error(`no run ${args.runId}`);
      return 1;
    }
    if (args.json) {
      console.log(JSON.stringify(run, null, 2));
      return 0;
    }
    const seconds = (from: string, to?: string) =>
      to ? `${num((Date.parse(to) - Date.parse(from)) / 1000, 1)} s` : 'running';
    console.log(
      [
        `run       ${run.runId}`,
        `model     ${run.model}${run.version === undefined ? '' : ` v${run.version}`}`,
        `status    ${run.status}${run.failedStep ? ` at step ${run.failedStep}` : ''}`,
        `trainer   ${run.trainer}`,
        `dataset   ${run.datasetUri}`,
        `by        ${run.requestedBy}`,
        `started   ${run.startedAt} (${seconds(run.startedAt, run.finishedAt)})`,
        ...(run.error ? [`error     ${run.error.name}: ${run.error.message}`] : []),
        'steps',
        ...run.steps.map(formatStep),
      ].join('\n'),
    );
    return run.status === 'FAILED' ? 1 : 0;
  }
  throw new Error(`unknown action "runs ${args.action}": use list or show`);
}
