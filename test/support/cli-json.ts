// Runs a CLI command with `--json` inside a test: its exit code and the JSON it printed on stdout.
import { vi } from 'vitest';

export async function runJson<T>(command: () => Promise<number>): Promise<{ code: number; json: T }> {
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((text: unknown) => {
    printed.push(String(text));
  });
  try {
    const code = await command();
    return { code, json: JSON.parse(printed.join('\n')) as T };
  } finally {
    spy.mockRestore();
  }
}
