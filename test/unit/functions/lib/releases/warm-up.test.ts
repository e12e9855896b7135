// Warming a predict function version: what its answers say about the model version it serves,
// and which answers mean it cannot serve at all.
import { describe, expect, it } from 'vitest';
import type { InvokeOutcome } from '../../../../../functions/lib/releases/alias-routing.ts';
import { warmUp, warmUpEvent } from '../../../../../functions/lib/releases/warm-up.ts';

const options = {
  version: '4',
  model: 'flight-delay',
  invocations: 3,
  requestIdPrefix: 'rel-1',
  subject: 'v4',
  serving: 'flight-delay v2',
};
const answering =
  (...outcomes: InvokeOutcome[]) =>
  async (_version: string, event: unknown): Promise<InvokeOutcome> => {
    const index = Number(
      (event as { requestContext: { requestId: string } }).requestContext.requestId.split('-').at(-1),
    );
    return outcomes[index] ?? (outcomes.at(-1) as InvokeOutcome);
  };

describe('warmUp', () => {
  it('sends requests that load the model and are refused, one request id each', async () => {
    const events: unknown[] = [];
    await warmUp(async (_v, event) => {
      events.push(event);
      return { payload: { statusCode: 400, body: '{}' } };
    }, options);

    expect(events).toEqual([0, 1, 2].map((i) => warmUpEvent('flight-delay', i, 'rel-1')));
    expect(JSON.parse((events[0] as { body: string }).body)).toEqual({ instances: [{}] });
  });

  it('returns the model version each answer names: the header (any case), a 200 body, or none', async () => {
    const served = await warmUp(
      answering(
        { payload: { statusCode: 400, headers: { 'X-Model-Version': '2' }, body: '{}' } },
        { payload: { statusCode: 200, body: JSON.stringify({ version: 2, predictions: [] }) } },
        { payload: { statusCode: 400, body: '{}' } },
      ),
      options,
    );

    expect(served).toEqual([2, 2, undefined]);
  });

  it('fails naming the version when it crashes, cannot find the model or answers 5xx', async () => {
    await expect(
      warmUp(answering({ functionError: 'Unhandled', payload: { errorMessage: 'boom' } }), options),
    ).rejects.toMatchObject({ name: 'WarmUpFailed', message: 'v4 failed its warm-up (Unhandled): boom' });
    await expect(
      warmUp(
        answering({ payload: { statusCode: 404, body: '{"error":{"message":"no version 2"}}' } }),
        options,
      ),
    ).rejects.toThrow('v4 cannot serve flight-delay v2: warm-up answered 404 no version 2');
    await expect(warmUp(answering({ payload: null }), options)).rejects.toThrow(
      'v4 cannot serve flight-delay v2: warm-up answered no status',
    );
  });
});
