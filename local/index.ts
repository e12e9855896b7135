// `npm start`: the whole platform on 127.0.0.1, no Docker, no AWS account. Synthesizes (or
// reuses) cdk.out, starts what the template declares, trains the seed model on first start,
// prints how to call it and writes .mlops/local.json for the CLI. Ctrl-C stops it cleanly.
import { appendFileSync, chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { bootstrapSeedModel, SEED } from './bootstrap.ts';
import { startPlatform } from './platform.ts';
import { ensureSynth } from './synth.ts';

const projectDir = fileURLToPath(new URL('..', import.meta.url));
const config = z
  .object({
    MLOPS_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    MLOPS_DATA_DIR: z.string().default(join(projectDir, '.mlops', 'data')),
    MLOPS_CDK_OUT: z.string().default(join(projectDir, 'cdk.out')),
    /** Where the CLI and scripts look for the running platform. */
    MLOPS_STATE_FILE: z.string().default(join(projectDir, '.mlops', 'local.json')),
  })
  .parse(process.env);

// Node 20 is supported; the SDK's notice about its future end of support would only add noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const started = Date.now();
const say = (line: string) => console.log(`[mlops] ${line}`);

let shuttingDown = false;

/** Lines people must see: alarm state changes, alias shifts, messages published, stand-ins for services not emulated here. */
const SHOWN = /^\[(alarm|lambda|sns|sagemaker)\]/;
/**
 * …except alarms settling at start-up (no data yet reads as OK), and the SNS copy of an alarm's
 * state change, which the `[alarm]` line already shows with its reason.
 */
const HIDDEN = [/^\[alarm\] .*: INSUFFICIENT_DATA → OK:/, /^\[sns\] [^ ]+: (ALARM|OK|INSUFFICIENT_DATA): "/];

/**
 * The platform's own log (every state machine step, every published message) goes to a file;
 * alarms and "not emulated, running X instead" notices are also printed.
 */
function platformLog(file: string): (line: string) => void {
  mkdirSync(dirname(file), { recursive: true });
  return (line) => {
    appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
    if (SHOWN.test(line) && !HIDDEN.some((pattern) => pattern.test(line))) say(line);
  };
}

async function main(): Promise<void> {
  const synth = await ensureSynth(projectDir, config.MLOPS_CDK_OUT, say);
  if (synth === 'reused') say('cdk.out is up to date with the sources; reusing it');
  const platform = await startPlatform({
    cdkOut: config.MLOPS_CDK_OUT,
    dataDir: config.MLOPS_DATA_DIR,
    port: config.MLOPS_PORT,
    log: platformLog(join(resolve(config.MLOPS_DATA_DIR), 'logs', 'platform.log')),
  });
  const stateFile = resolve(config.MLOPS_STATE_FILE);
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`${signal}: shutting down …`);
    // A stale state file would send the CLI to a dead endpoint.
    rmSync(stateFile, { force: true });
    await platform.stop();
    say('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  const { report } = platform;
  say(
    `emulating ${report.emulated.length} resources; ${report.noLocalMeaning.length} have no local meaning (IAM, log groups, permissions …)`,
  );
  for (const item of report.notEmulated) say(`NOT EMULATED: ${item}`);
  for (const line of summarizeWarnings(report.warnings)) say(line);

  try {
    await bootstrapSeedModel(platform, say);
  } catch (err) {
    if (shuttingDown) return; // Ctrl-C during the first training: shutdown() finishes the job
    throw err;
  }
  if (shuttingDown) return;
  mkdirSync(dirname(stateFile), { recursive: true });
  // It holds the API key: owner-only, like api-keys.json.
  writeFileSync(stateFile, `${JSON.stringify(platform.describe(), null, 2)}\n`, { mode: 0o600 });
  chmodSync(stateFile, 0o600);

  const body = JSON.stringify({
    instances: [{ date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' }],
  });
  console.log(`
  MLOps platform running locally (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)

    API        ${platform.url}
    API key    ${platform.apiKey}
    state      ${stateFile}
    logs       ${join(resolve(config.MLOPS_DATA_DIR), 'logs')}

  Try it:
    curl -s -X POST '${platform.url}models/${SEED.model}/predict' \\
      -H 'x-api-key: ${platform.apiKey}' -H 'content-type: application/json' \\
      -d '${body}'

  Ctrl-C to stop.
`);
}

/**
 * One line per resource for "declared but not emulated" features (e.g. `RegistryTable: SSE,
 * PITR`), other warnings verbatim: everything is said, without a wall of text.
 */
function summarizeWarnings(warnings: readonly string[]): string[] {
  const features = new Map<string, string[]>();
  const other: string[] = [];
  for (const warning of warnings) {
    const match = /^(\S+): (\S+) is not emulated locally/.exec(warning);
    if (match?.[1] && match[2]) features.set(match[1], [...(features.get(match[1]) ?? []), match[2]]);
    else other.push(`warning: ${warning}`);
  }
  const lines = [...features].map(([id, list]) => `  ${id}: ${list.join(', ')}`);
  return [...(lines.length > 0 ? ['declared but not emulated locally:', ...lines] : []), ...other];
}

main().catch((err: unknown) => {
  if (shuttingDown) return;
  console.error(`[mlops] failed to start: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
