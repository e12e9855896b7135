// API Gateway's throttling model: a token bucket per key, refilled at `rateLimit` per second
// up to `burstLimit` tokens.
import type { Throttle } from './rest-api-model.ts';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly throttle: Throttle,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = throttle.burstLimit;
    this.last = now();
  }

  /** Take one token; false means the request is throttled (429). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(
      this.throttle.burstLimit,
      this.tokens + ((t - this.last) / 1000) * this.throttle.rateLimit,
    );
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
