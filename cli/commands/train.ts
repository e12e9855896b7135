// `mlops train`: runs the train function (local or AWS, same Lambda Invoke call) and prints
// the registered version.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { num } from '../format.ts';
import { clientOptions, type Target } from '../target.ts';

export interface TrainArgs {
  readonly model: string;
  readonly dataset?: string;
  readonly featureSet: string;
  readonly trainer?: string;
  readonly promote: boolean;
  readonly json: boolean;
}

export async function trainCommand(target: Target, args: TrainArgs): Promise<number> {
  const functionName = target.outputs.TrainFunctionName;
  if (!functionName) throw new Error('the stack has no TrainFunctionName output');
  const datasetUri = args.dataset ?? target.outputs.SeedDatasetUri;
  const lambda = new LambdaClient(clientOptions(target, 'lambda'));
  console.error(`training ${args.model} on ${datasetUri} …`);
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: Buffer.from(
        JSON.stringify({
          model: args.model,
          datasetUri,
          featureSet: args.featureSet,
          ...(args.trainer ? { trainer: args.trainer } : {}),
          promote: args.promote,
          createdBy: 'mlops-cli',
        }),
      ),
    }),
  );
  const payload = JSON.parse(
    Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8') || 'null',
  ) as Record<string, unknown>;
  if (out.FunctionError) {
    console.error(`training failed: ${String(payload?.errorType)}: ${String(payload?.errorMessage)}`);
    return 1;
  }
  if (args.json) {
    console.log(JSON.stringify(payload, null, 2));
    return 0;
  }
  const version = payload.version as {
    version: number;
    stage: string;
    metrics: { test?: { auc?: number; logLoss?: number } };
  };
  console.log(
    `run ${String(payload.runId)} → ${args.model} v${version.version} (${version.stage}), test AUC ${num(version.metrics.test?.auc)}, log loss ${num(version.metrics.test?.logLoss)}`,
  );
  return 0;
}
