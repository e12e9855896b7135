// What a Lambda alias routes to — one version, or two with a weight on the second — and the port
// through which releases read and change it. The intent of every release step is a Routing; what
// Lambda answers on read-back is compared with it, and any difference is a loud failure.

/** `live` → version "4", plus version "7" at weight 0.05 during a canary step. */
export interface Routing {
  /** The version that takes the rest of the traffic. */
  readonly version: string;
  /** A second version and its share, 0 < weight < 1. */
  readonly additional?: { readonly version: string; readonly weight: number };
}

/** A routing as read from Lambda, with the revision an update must name to be conditional. */
export interface AliasState extends Routing {
  readonly revisionId: string;
}

/** A published version's configuration, as far as releases need it. */
export interface VersionConfig {
  readonly version: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly codeSha256?: string;
  readonly description?: string;
}

/** What invoking a version directly answered (warm-up). */
export interface InvokeOutcome {
  /** Set when the handler failed (Lambda's `X-Amz-Function-Error`). */
  readonly functionError?: string;
  readonly payload: unknown;
}

/** Port: one function's alias and versions (the predict function's `live` alias). */
export interface AliasControl {
  readonly functionName: string;
  readonly aliasName: string;
  getAlias(): Promise<AliasState>;
  /**
   * Set the alias's routing only if it is still at `revisionId`; AliasChanged when it moved in
   * between (another release, a code deploy, a person).
   */
  updateAlias(routing: Routing, revisionId: string): Promise<void>;
  /** A version's (or `$LATEST`'s) configuration. */
  getVersionConfig(version: string): Promise<VersionConfig>;
  /**
   * Set `$LATEST`'s environment, wait until the update is done, publish a version and wait until
   * it is active; returns its number. Lambda publishes nothing new when code and configuration
   * are unchanged since the last version: it returns that version, so a retry gets the same one.
   */
  publishVersion(environment: Readonly<Record<string, string>>, description: string): Promise<string>;
  /** Invoke one version synchronously (warm-up). */
  invokeVersion(version: string, event: unknown): Promise<InvokeOutcome>;
}

/** The alias moved between the read and the conditional update. */
export class AliasChanged extends Error {
  override readonly name = 'AliasChanged';
}

/** Weights are compared to this precision (Lambda keeps them as doubles). */
const WEIGHT_EPSILON = 1e-6;

/** The routing that puts `percent` of the traffic on `challenger`, the rest on `champion`. */
export function routingAt(champion: string, challenger: string, percent: number): Routing {
  if (percent >= 100) return { version: challenger };
  if (percent <= 0) return { version: champion };
  return { version: champion, additional: { version: challenger, weight: percent / 100 } };
}

/** True when two routings send the same versions the same shares. */
export function sameRouting(a: Routing, b: Routing): boolean {
  if (a.version !== b.version) return false;
  if (!a.additional || !b.additional) return !a.additional && !b.additional;
  return (
    a.additional.version === b.additional.version &&
    Math.abs(a.additional.weight - b.additional.weight) < WEIGHT_EPSILON
  );
}

/** `v4 95% + v7 5%`, or `v7 100%`. */
export function describeRouting(r: Routing): string {
  if (!r.additional) return `v${r.version} 100%`;
  const extra = round(r.additional.weight * 100);
  return `v${r.version} ${round(100 - extra)}% + v${r.additional.version} ${extra}%`;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Only the routing part (drops the revision), for records and messages. */
export const routingOf = (r: Routing): Routing =>
  r.additional ? { version: r.version, additional: { ...r.additional } } : { version: r.version };
