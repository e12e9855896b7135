// Local stand-in for `arn:aws:states:::sagemaker:createTrainingJob.sync`. SageMaker (and the
// bring-your-own container it would run) is not emulated: the job is mapped to the platform's
// TypeScript trainer, in the pipeline's own TrainModel function (its DefinitionSubstitutions name it), and its model.onnx is packed
// as SageMaker would pack /opt/ml/model (`{S3OutputPath}/{job}/output/model.tar.gz`), so the
// ImportContainerModel step that follows runs exactly as on AWS. Says so in the log, every time.
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { runFiles } from '../../functions/lib/runs/run-files.ts';
import { parseS3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { writeTar } from '../../functions/lib/storage/tar.ts';
import type { TaskIntegration } from '../stepfunctions/task-handlers.ts';

export const SAGEMAKER_TRAINING_SYNC = 'arn:aws:states:::sagemaker:createTrainingJob.sync';

/** The DefinitionSubstitutions key naming the pipeline's TrainModel function (see training.asl.json). */
const TRAIN_FUNCTION_SUBSTITUTION = 'TrainModelFunctionArn';

export interface LocalTrainingJobOptions {
  readonly s3: S3Client;
  /** The TypeScript trainer that stands in for the container. @default 'gbdt' */
  readonly trainer?: 'logreg' | 'gbdt';
}

interface TrainingJobRequest {
  TrainingJobName: string;
  AlgorithmSpecification?: { TrainingImage?: string };
  HyperParameters?: Record<string, string>;
  OutputDataConfig?: { S3OutputPath?: string };
}

/** AWS's error for a malformed CreateTrainingJob request. */
class ValidationException extends Error {
  override readonly name = 'SageMaker.AmazonSageMakerException';
}

export function localTrainingJob(options: LocalTrainingJobOptions): TaskIntegration {
  const trainer = options.trainer ?? 'gbdt';
  return async (input, ctx) => {
    const job = input as TrainingJobRequest;
    const hp = job.HyperParameters ?? {};
    const output = job.OutputDataConfig?.S3OutputPath;
    if (!job.TrainingJobName || !output || !hp.run_id || !hp.model || !hp.dataset_uri || !hp.feature_set)
      throw new ValidationException(
        'CreateTrainingJob needs TrainingJobName, OutputDataConfig.S3OutputPath and the run_id, model, dataset_uri and feature_set hyperparameters',
      );
    ctx.log(
      `[sagemaker] training job ${job.TrainingJobName} (image ${job.AlgorithmSpecification?.TrainingImage ?? '?'}) is not emulated locally: ` +
        `training with the platform's TypeScript '${trainer}' trainer in its place`,
    );
    const trainFunctionArn = ctx.definitionSubstitutions[TRAIN_FUNCTION_SUBSTITUTION];
    if (!trainFunctionArn)
      throw new ValidationException(
        `state machine ${ctx.stateMachineName} has no ${TRAIN_FUNCTION_SUBSTITUTION} substitution to stand in for the training job`,
      );
    await ctx.invokeLambda(trainFunctionArn, {
      runId: hp.run_id,
      model: hp.model,
      datasetUri: hp.dataset_uri,
      featureSet: hp.feature_set,
      trainer,
      // The container's own parameters mean nothing to the stand-in trainer.
      params: {},
      seed: Number(hp.seed ?? 0),
      requestedBy: `local stand-in for SageMaker job ${job.TrainingJobName}`,
    });
    const model = await options.s3.send(
      new GetObjectCommand({ ...bucketKey(output, runFiles(hp.run_id).model) }),
    );
    const bytes = await model.Body?.transformToByteArray();
    if (!bytes) throw new Error(`the stand-in trainer wrote no model for run ${hp.run_id}`);
    const archive = gzipSync(writeTar(new Map([['model.onnx', bytes]])));
    const artifactUri = `${output.replace(/\/$/, '')}/${job.TrainingJobName}/output/model.tar.gz`;
    const target = parseS3Uri(artifactUri);
    await options.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: archive }));
    return {
      TrainingJobName: job.TrainingJobName,
      TrainingJobArn: `arn:aws:sagemaker:us-east-1:000000000000:training-job/${job.TrainingJobName.toLowerCase()}`,
      TrainingJobStatus: 'Completed',
      SecondaryStatus: 'Completed',
      AlgorithmSpecification: job.AlgorithmSpecification,
      HyperParameters: hp,
      ModelArtifacts: { S3ModelArtifacts: artifactUri },
    };
  };
}

/** The run's model key in the bucket the job writes its output to (the artifacts bucket). */
function bucketKey(outputUri: string, key: string) {
  return { Bucket: parseS3Uri(`${outputUri.replace(/\/$/, '')}/x`).bucket, Key: key };
}
