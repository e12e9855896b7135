// The local Lambda state across restarts: versions published and aliases shifted through the
// API survive, unless the template was deployed anew (its definition digest changed), in which
// case the template's alias applies again. No handler runs in these tests.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AliasChange, LambdaService } from '../../../../local/lambda/lambda-service.ts';

const root = mkdtempSync(join(tmpdir(), 'mlops-lambda-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const stateFile = () => join(root, `run-${n++}`, 'lambda', 'state.json');

interface Template {
  /** Digest of the function's definition. @default 'fn-v1' */
  fn?: string;
  /** Digest of the `live` alias's definition. @default 'live-v1' */
  alias?: string;
  /** Version numbers the template declares. @default ['1'] */
  versions?: string[];
}

/** One run of the platform: the template registered, then the saved state restored. */
function boot(file: string, template: Template = {}, events: AliasChange[] = []) {
  const lines: string[] = [];
  const lambda = new LambdaService(Math.random, { log: (line) => lines.push(line) });
  lambda.onAliasChange((c) => events.push(c));
  lambda.addFunction(
    {
      logicalId: 'Predict',
      functionName: 'predict',
      bundleFile: join(root, 'asset', 'index.js'),
      handlerName: 'handler',
      environment: { REGISTRY_TABLE: 'registry' },
      memorySize: 1769,
      timeoutSeconds: 10,
      logDir: root,
    },
    { fingerprint: template.fn ?? 'fn-v1', handler: 'index.handler' },
  );
  for (const v of template.versions ?? ['1']) lambda.addVersion('predict', v);
  lambda.setAlias(
    'live',
    { functionName: 'predict', version: '1', additionalVersions: [] },
    { fingerprint: template.alias ?? 'live-v1' },
  );
  const messages = lambda.restoreState(file);
  return { lambda, messages, lines };
}

/** The release steps: pin $LATEST, publish, send `weight` of live to the new version. */
function release(lambda: LambdaService, pins: string, weight: number): string {
  lambda.updateFunctionConfiguration('predict', {
    variables: { REGISTRY_TABLE: 'registry', MODEL_VERSION_PINS: pins },
  });
  const version = lambda.publishVersion('predict', { description: `pins ${pins}` }).config.version;
  lambda.updateAlias('predict', 'live', { additionalVersions: [{ version, weight }] });
  return version;
}

describe('restoring the local Lambda state', () => {
  it('brings back published versions, their configuration, $LATEST and the alias after a plain restart', () => {
    const file = stateFile();
    const first = boot(file);
    const v2 = release(first.lambda, '{"flight-delay":2}', 0.2);
    const aliasRevision = first.lambda.getAliasConfiguration('predict', 'live').revisionId;

    const events: AliasChange[] = [];
    const second = boot(file, {}, events);
    expect(second.lambda.getAlias('predict', 'live')).toEqual({
      functionName: 'predict',
      version: '1',
      additionalVersions: [{ version: v2, weight: 0.2 }],
    });
    expect(second.lambda.getAliasConfiguration('predict', 'live').revisionId).toBe(aliasRevision);
    expect(second.lambda.getFunctionConfiguration('predict', v2).config).toMatchObject({
      version: '2',
      description: 'pins {"flight-delay":2}',
      variables: { REGISTRY_TABLE: 'registry', MODEL_VERSION_PINS: '{"flight-delay":2}' },
    });
    expect(second.lambda.getFunctionConfiguration('predict').config.variables).toEqual({
      REGISTRY_TABLE: 'registry',
      MODEL_VERSION_PINS: '{"flight-delay":2}',
    });
    // $LATEST is unchanged since v2: publishing gives v2 back; a change publishes v3.
    expect(second.lambda.publishVersion('predict').config.version).toBe('2');
    second.lambda.updateFunctionConfiguration('predict', { variables: { MODEL_VERSION_PINS: '{"m":3}' } });
    expect(second.lambda.publishVersion('predict').config.version).toBe('3');
    expect(events.at(-1)).toMatchObject({ aliasName: 'live', cause: 'restored' });
    expect(second.messages.join('\n')).toContain('predict:live: v1 80% + v2 20% as saved');
  });

  it('applies the template alias again after a deploy changed the function, keeping published versions', () => {
    const file = stateFile();
    const first = boot(file);
    const v2 = release(first.lambda, '{"flight-delay":2}', 0.2);

    const second = boot(file, { fn: 'fn-v2', alias: 'live-v2' });
    expect(second.lambda.getAlias('predict', 'live')).toEqual({
      functionName: 'predict',
      version: '1',
      additionalVersions: [],
    });
    expect(second.lambda.getFunctionConfiguration('predict').config.variables).toEqual({
      REGISTRY_TABLE: 'registry',
    });
    expect(second.lambda.getFunctionConfiguration('predict', v2).config.variables.MODEL_VERSION_PINS).toBe(
      '{"flight-delay":2}',
    );
    expect(second.lines).toContain(
      "[lambda] predict:live: the template changed since the last run (a deploy): the template's alias applies again, v1 100% (was v1 80% + v2 20%)",
    );
    expect(second.lines.join('\n')).toContain('$LATEST has the template');
  });

  it('applies the template alias again when only the alias definition changed, keeping $LATEST', () => {
    const file = stateFile();
    const first = boot(file);
    release(first.lambda, '{"m":2}', 0.5);

    const second = boot(file, { alias: 'live-v2' });
    expect(second.lambda.getAlias('predict', 'live')?.additionalVersions).toEqual([]);
    expect(second.lambda.getFunctionConfiguration('predict').config.variables.MODEL_VERSION_PINS).toBe(
      '{"m":2}',
    );
  });

  it('keeps an alias created through the API across a deploy', () => {
    const file = stateFile();
    const first = boot(file);
    const v2 = release(first.lambda, '{"m":2}', 0.1);
    first.lambda.createAlias('predict', { name: 'shadow', functionVersion: v2 });

    const second = boot(file, { fn: 'fn-v2', alias: 'live-v2' });
    expect(second.lambda.getAlias('predict', 'shadow')).toEqual({
      functionName: 'predict',
      version: v2,
      additionalVersions: [],
    });
  });

  it('renumbers a locally published version whose number a deploy has taken since', () => {
    const file = stateFile();
    const first = boot(file);
    release(first.lambda, '{"m":2}', 0.3);

    // The new template declares versions 1 and 2; the alias definition is unchanged.
    const second = boot(file, { versions: ['1', '2'] });
    expect(second.lambda.getFunctionConfiguration('predict', '3').config.variables.MODEL_VERSION_PINS).toBe(
      '{"m":2}',
    );
    expect(second.lambda.getFunctionConfiguration('predict', '2').config.variables.MODEL_VERSION_PINS).toBe(
      undefined,
    );
    expect(second.lambda.getAlias('predict', 'live')?.additionalVersions).toEqual([
      { version: '3', weight: 0.3 },
    ]);
    expect(second.messages.join('\n')).toContain('version 2, published locally, is now version 3');
  });

  it('writes the state as it changes, atomically, in <dataDir>/lambda/state.json', () => {
    const file = stateFile();
    const { lambda } = boot(file);
    release(lambda, '{"m":2}', 0.25);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({
      formatVersion: 1,
      functions: {
        predict: {
          fingerprint: 'fn-v1',
          versions: [{ version: '2', origin: 'published', variables: { MODEL_VERSION_PINS: '{"m":2}' } }],
          aliases: [{ name: 'live', version: '1', additionalVersions: [{ version: '2', weight: 0.25 }] }],
        },
      },
    });
    expect(readdirSync(join(file, '..')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('starts from the template when the saved state is unreadable, keeping the file aside', () => {
    const file = stateFile();
    boot(file);
    writeFileSync(file, '{"formatVersion": 1, "functions": "oops"');
    const { lambda, messages } = boot(file);
    expect(lambda.getAlias('predict', 'live')?.version).toBe('1');
    expect(messages[0]).toMatch(/is not readable as local Lambda state/);
    const aside = readdirSync(join(file, '..')).filter((f) => f.includes('unreadable'));
    expect(aside).toHaveLength(1);
    expect(existsSync(file)).toBe(true); // rewritten from the template
  });
});
