// Output for people: aligned tables and one-line failures.

/** Render rows as an aligned table under a header. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Fixed decimals for scores and metrics. */
export const num = (value: unknown, digits = 4) => (typeof value === 'number' ? value.toFixed(digits) : '-');
