import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../../local/gateway/token-bucket.ts';

describe('TokenBucket', () => {
  it('allows a burst, then throttles, then refills at the rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 3 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now = 100; // 0.1 s at 10/s refills one token
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
  });
});
