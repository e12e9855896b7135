// The commit of the checkout a run is started from, recorded in the version's lineage when known.
import { execFileSync } from 'node:child_process';

/** `HEAD`'s commit (with `-dirty` when tracked files changed), or undefined outside a git work tree. */
export function gitCommitOf(dir = process.cwd()): string | undefined {
  try {
    const run = (...args: string[]) =>
      execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    const commit = run('rev-parse', 'HEAD');
    return run('status', '--porcelain', '--untracked-files=no') === '' ? commit : `${commit}-dirty`;
  } catch {
    return undefined;
  }
}
