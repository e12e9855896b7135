import { describe, expect, it } from 'vitest';
import { retrainingExecutionName } from '../../../../../functions/lib/retraining/retraining-request.ts';

describe('retrainingExecutionName', () => {
  const end = new Date('2026-11-27T08:00:00.000Z');

  it('derives the name from the model and the window end, so one window gets one name', () => {
    expect(retrainingExecutionName('flight-delay', end)).toBe('flight-delay-drift-20261127T080000Z');
    expect(retrainingExecutionName('flight-delay', new Date(end))).toBe(
      retrainingExecutionName('flight-delay', end),
    );
    expect(retrainingExecutionName('flight-delay', end, 'schedule')).toBe(
      'flight-delay-schedule-20261127T080000Z',
    );
  });

  it('keeps a long model name within 80 characters and apart from its namesakes', () => {
    const a = `${'a'.repeat(62)}b`;
    const b = `${'a'.repeat(62)}c`;
    expect(retrainingExecutionName(a, end, 'schedule')).toHaveLength(80);
    expect(retrainingExecutionName(a, end, 'schedule')).not.toBe(retrainingExecutionName(b, end, 'schedule'));
  });

  it('refuses a model name that cannot be part of an execution name', () => {
    expect(() => retrainingExecutionName('bad name', end)).toThrow(/bad name/);
  });
});
