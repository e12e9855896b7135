import { describe, expect, it, vi } from 'vitest';
import { TransientError } from '../../../../functions/lib/errors.ts';
import { stepRunner } from '../../../../functions/lib/step-runner.ts';

const logger = () => ({ info: vi.fn(), error: vi.fn() });

describe('stepRunner', () => {
  it('returns the work’s result and logs its duration', async () => {
    const log = logger();
    await expect(stepRunner(log)('plan', async () => 42)).resolves.toBe(42);
    expect(log.info).toHaveBeenCalledWith('step succeeded', { step: 'plan', durationMs: expect.any(Number) });
  });

  it('turns throttling into TransientError, the name the ASL retries', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const failing = stepRunner(logger())('plan', async () => {
      throw throttled;
    });
    await expect(failing).rejects.toBeInstanceOf(TransientError);
    await expect(failing).rejects.toThrow('ThrottlingException: Rate exceeded');
  });

  it('keeps every other error as it is, for the Catch to see its name', async () => {
    const refused = Object.assign(new Error('not Staging'), { name: 'ReleaseRefused' });
    const log = logger();
    await expect(
      stepRunner(log)('start', async () => {
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(log.error).toHaveBeenCalledWith('step failed', {
      step: 'start',
      transient: false,
      error: { name: 'ReleaseRefused', message: 'not Staging' },
    });
  });
});
