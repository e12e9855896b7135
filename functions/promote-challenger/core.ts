// Retraining step PromoteChallenger: the challenger that won the comparison becomes the Production
// version by a compare-and-set write on the registry, at the stage revision the comparison was made
// at. If anything changed the model's stages since (a person promoted another version, another
// retraining won first), the write loses with ConflictError and the champion in place stays.
//
// Release seam: while there is no release path, promotion is this registry write (the predict
// function follows the registry's Production pointer). Once the release state machine exists
// (canary on the `live` alias with alarm checks), the PromoteChallenger state starts it instead,
// with the same inputs, and this compare-and-set becomes its last step.
import * as z from 'zod';
import { ConflictError, InvalidRequest } from '../lib/errors.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import { checkExecutionName } from '../lib/retraining/retraining-files.ts';

export const PromoteInput = z.object({
  model: z.string().min(1),
  executionName: z.string(),
  challengerVersion: z.number().int().positive(),
  /** The champion the challenger was compared with. */
  championVersion: z.number().int().positive(),
  /** The registry's stage revision when the comparison was made. */
  expectedRevision: z.number().int().min(0),
  /** The comparison's reasons, recorded as the promotion's reason in the audit trail. */
  reasons: z.array(z.string()).min(1),
});
export type PromoteInput = z.infer<typeof PromoteInput>;

export interface PromotePorts {
  readonly registry: Pick<ModelRegistry, 'promoteToProduction' | 'getProductionVersion'>;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

/** `$.promotion` in statemachines/retraining.asl.json. */
export interface PromotionResult {
  readonly version: number;
  readonly previousVersion: number;
  readonly stage: 'Production';
  readonly actor: string;
}

/** The audit trail keeps the reason; DynamoDB items stay far below their size limit with this cap. */
const MAX_REASON_CHARS = 2_000;

export async function promoteChallenger(event: unknown, ports: PromotePorts): Promise<PromotionResult> {
  const parsed = PromoteInput.safeParse(event);
  if (!parsed.success) throw new InvalidRequest(`invalid promotion input: ${z.prettifyError(parsed.error)}`);
  const input = parsed.data;
  const actor = `retraining:${checkExecutionName(input.executionName)}`;
  const reason = input.reasons.join('; ').slice(0, MAX_REASON_CHARS);
  const result: PromotionResult = {
    version: input.challengerVersion,
    previousVersion: input.championVersion,
    stage: 'Production',
    actor,
  };
  try {
    await ports.registry.promoteToProduction(input.model, input.challengerVersion, {
      actor,
      reason,
      expectedRevision: input.expectedRevision,
    });
    ports.log('promoted', { model: input.model, version: input.challengerVersion, actor });
    return result;
  } catch (err) {
    if (!(err instanceof ConflictError || (err as Error).name === 'ConflictError')) throw err;
    // A retry after this step's own write succeeded (the response was lost) also loses the
    // compare-and-set: the revision moved because of it. The challenger in Production means the
    // promotion happened; calling again without a revision completes its derived writes.
    const current = await ports.registry.getProductionVersion(input.model);
    if (current?.version === input.challengerVersion) {
      await ports.registry.promoteToProduction(input.model, input.challengerVersion, { actor, reason });
      return result;
    }
    throw new ConflictError(
      `the stages of ${input.model} changed after the comparison (Production is now ` +
        `${current ? `v${current.version}` : 'none'}; the comparison was against v${input.championVersion} ` +
        `at revision ${input.expectedRevision}): the champion in place stays and challenger ` +
        `v${input.challengerVersion} remains in Staging`,
      { model: input.model, version: input.challengerVersion, expectedRevision: input.expectedRevision },
    );
  }
}
