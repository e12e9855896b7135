// Deterministic physical names for template resources run locally: stable across restarts, so
// persisted tables and buckets are found again, and valid for the service that holds them.
import { createHash } from 'node:crypto';

/** The kinds of resource a local name is made for; each has its service's naming rules. */
export type LocalResourceKind = 'table' | 'bucket' | 'function' | 'stateMachine' | 'other';

interface NameRule {
  readonly max: number;
  readonly lowercase: boolean;
  /** Characters outside this set are replaced by `-`. */
  readonly invalid: RegExp;
}

const RULES: Record<LocalResourceKind, NameRule> = {
  table: { max: 255, lowercase: false, invalid: /[^A-Za-z0-9_.-]/g },
  bucket: { max: 63, lowercase: true, invalid: /[^a-z0-9-]/g },
  function: { max: 64, lowercase: false, invalid: /[^A-Za-z0-9_-]/g },
  stateMachine: { max: 80, lowercase: false, invalid: /[^A-Za-z0-9_-]/g },
  other: { max: 255, lowercase: false, invalid: /[^A-Za-z0-9_.-]/g },
};

/**
 * The local physical name of resource `logicalId` of `stackName`: `explicitName` when the
 * template sets one (`TableName`, `BucketName`, `FunctionName`…, already resolved), else
 * `<stack>-<logicalId>` made valid for `kind` (buckets lowercased; names too long are cut and
 * end in a short hash of the full name, so two long names stay distinct).
 */
export function localResourceName(
  stackName: string,
  logicalId: string,
  kind: LocalResourceKind,
  explicitName?: string,
): string {
  if (explicitName !== undefined) {
    if (kind === 'bucket' && !isValidBucketName(explicitName)) {
      throw new Error(`bucket name "${explicitName}" of ${logicalId} is not a valid S3 bucket name`);
    }
    return explicitName;
  }
  const rule = RULES[kind];
  const full = `${stackName}-${logicalId}`;
  let name = (rule.lowercase ? full.toLowerCase() : full).replace(rule.invalid, '-');
  if (kind === 'bucket') name = name.replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
  if (name.length <= rule.max && name.length >= 3) return name;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${name.slice(0, rule.max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** S3's bucket naming rules: 3–63 of `[a-z0-9.-]`, starting and ending alphanumeric, not an IP. */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  );
}
