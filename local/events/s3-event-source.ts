// Which of a stack's buckets send their object events to EventBridge: a bucket's own
// `NotificationConfiguration.EventBridgeConfiguration`, or CDK's `Custom::S3BucketNotifications`
// (what `eventBridgeEnabled: true` synthesizes to, applied on AWS by a Python custom resource).
import type { StackResolution } from '../stack-resolution.ts';
import type { AssemblyStack } from '../template/cloud-assembly.ts';
import { resolveValue } from '../template/intrinsics.ts';

/** The custom resource CDK uses for a bucket's notifications. */
export const BUCKET_NOTIFICATIONS_TYPE = 'Custom::S3BucketNotifications';

/** Notification kinds that are not EventBridge: not sent locally. */
const OTHER_DESTINATIONS = [
  'TopicConfigurations',
  'QueueConfigurations',
  'LambdaConfigurations',
  'LambdaFunctionConfigurations',
];

export interface EventBridgeBuckets {
  /** Local bucket names whose "Object Created" events go to the default event bus. */
  readonly buckets: string[];
  readonly warnings: string[];
}

/** The buckets of `stack` with EventBridge notifications on. */
export function eventBridgeBuckets(stack: AssemblyStack, resolution: StackResolution): EventBridgeBuckets {
  const found: EventBridgeBuckets = { buckets: [], warnings: [] };
  for (const [logicalId, r] of Object.entries(stack.template.Resources ?? {})) {
    const p = r.Properties ?? {};
    let bucketName: unknown;
    if (r.Type === 'AWS::S3::Bucket') bucketName = resolution.physical.get(logicalId);
    else if (r.Type === BUCKET_NOTIFICATIONS_TYPE) {
      try {
        bucketName = resolveValue(
          p.BucketName,
          resolution.ctx,
          `Resources.${logicalId}.Properties.BucketName`,
        );
      } catch (err) {
        found.warnings.push(
          `${logicalId}: its bucket cannot be resolved, so no events are sent: ${(err as Error).message}`,
        );
        continue;
      }
      const others = OTHER_DESTINATIONS.filter(
        (k) => (p.NotificationConfiguration as Record<string, unknown>)?.[k],
      );
      if (others.length > 0)
        found.warnings.push(
          `${logicalId}: ${others.join(', ')} are not emulated locally: only EventBridge gets the bucket's events`,
        );
    } else continue;
    const config = p.NotificationConfiguration as {
      EventBridgeConfiguration?: { EventBridgeEnabled?: unknown };
    };
    const eventBridge = config?.EventBridgeConfiguration;
    // CDK writes `{}`; CloudFormation's own property spells `EventBridgeEnabled: true`.
    if (
      !eventBridge ||
      eventBridge.EventBridgeEnabled === false ||
      eventBridge.EventBridgeEnabled === 'false'
    )
      continue;
    if (typeof bucketName === 'string' && !found.buckets.includes(bucketName)) {
      found.buckets.push(bucketName);
      found.warnings.push(
        `${logicalId}: EventBridge gets only "Object Created" events locally (no Object Deleted, Restore, Tagging, ACL or Storage Class events)`,
      );
    }
  }
  return found;
}
