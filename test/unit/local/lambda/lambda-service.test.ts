import { describe, expect, it } from 'vitest';
import { describeAliasChange, formatRouting } from '../../../../local/lambda/alias-routing.ts';
import {
  InvalidParameterValueException,
  PreconditionFailedException,
  ResourceConflictException,
} from '../../../../local/lambda/errors.ts';
import {
  LambdaService,
  parseFunctionRef,
  ResourceNotFound,
} from '../../../../local/lambda/lambda-service.ts';

function service(random: () => number) {
  const s = new LambdaService(random);
  s.addFunction({
    logicalId: 'Fn',
    functionName: 'fn',
    bundleFile: '/x.js',
    handlerName: 'handler',
    environment: {},
    memorySize: 128,
    timeoutSeconds: 3,
    logDir: '/tmp',
  });
  s.addVersion('fn', '1');
  s.addVersion('fn', '2');
  return s;
}

describe('parseFunctionRef', () => {
  it('reads names, qualifiers and ARNs', () => {
    expect(parseFunctionRef('fn')).toEqual({ name: 'fn' });
    expect(parseFunctionRef('fn:live')).toEqual({ name: 'fn', qualifier: 'live' });
    expect(parseFunctionRef('arn:aws:lambda:us-east-1:000000000000:function:fn:7')).toEqual({
      name: 'fn',
      qualifier: '7',
    });
  });
});

describe('LambdaService alias routing', () => {
  it('sends each version its weight of the traffic', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const s = service(random);
    s.setAlias('live', {
      functionName: 'fn',
      version: '1',
      additionalVersions: [{ version: '2', weight: 0.25 }],
    });
    const n = 20_000;
    let canary = 0;
    for (let i = 0; i < n; i++) if (s.resolveVersion('fn:live').version === '2') canary++;
    expect(canary / n).toBeGreaterThan(0.24);
    expect(canary / n).toBeLessThan(0.26);
  });

  it('routes everything to the main version without extra weights', () => {
    const s = service(() => 0);
    s.setAlias('live', { functionName: 'fn', version: '2', additionalVersions: [] });
    expect(s.resolveVersion('fn:live').version).toBe('2');
  });

  it('fails for unknown functions and versions', () => {
    const s = service(Math.random);
    expect(() => s.resolveVersion('nope')).toThrow(ResourceNotFound);
    expect(() => s.resolveVersion('fn:9')).toThrow(ResourceNotFound);
  });
});

describe('parseFunctionRef with partial ARNs', () => {
  it('reads account:function:name[:qualifier]', () => {
    expect(parseFunctionRef('000000000000:function:fn')).toEqual({ name: 'fn' });
    expect(parseFunctionRef('000000000000:function:fn:live')).toEqual({ name: 'fn', qualifier: 'live' });
  });
});

describe('LambdaService control plane', () => {
  it('keeps a published version immutable while $LATEST changes', () => {
    const s = service(Math.random);
    s.updateFunctionConfiguration('fn', { variables: { MODEL_VERSION_PINS: '{"m":2}' } });
    const v3 = s.publishVersion('fn', { description: 'pins m v2' });
    s.updateFunctionConfiguration('fn', { variables: { MODEL_VERSION_PINS: '{"m":3}' }, timeoutSeconds: 9 });

    expect(v3).toMatchObject({ created: true, arnQualifier: '3' });
    expect(s.getFunctionConfiguration('fn', '3').config).toMatchObject({
      version: '3',
      description: 'pins m v2',
      variables: { MODEL_VERSION_PINS: '{"m":2}' },
      timeoutSeconds: 3,
    });
    expect(s.getFunctionConfiguration('fn').config).toMatchObject({
      version: '$LATEST',
      variables: { MODEL_VERSION_PINS: '{"m":3}' },
      timeoutSeconds: 9,
    });
  });

  it('gives back the last version when $LATEST has not changed since it was published', () => {
    const s = service(Math.random);
    s.updateFunctionConfiguration('fn', { variables: { AB: 'x' } });
    const first = s.publishVersion('fn');
    const again = s.publishVersion('fn', { description: 'ignored: nothing changed' });
    expect(first.config.version).toBe('3');
    expect(again).toMatchObject({
      created: false,
      config: { version: '3', revisionId: first.config.revisionId },
    });
    expect(s.listVersions('fn').map((v) => v.config.version)).toEqual(['$LATEST', '1', '2', '3']);
  });

  it('honours RevisionId and CodeSha256 preconditions', () => {
    const s = service(Math.random);
    const { revisionId, codeSha256 } = s.getFunctionConfiguration('fn').config;
    const updated = s.updateFunctionConfiguration('fn', { variables: { AB: 'x' } }, revisionId);
    expect(() => s.updateFunctionConfiguration('fn', { variables: { AB: 'y' } }, revisionId)).toThrow(
      PreconditionFailedException,
    );
    expect(() => s.publishVersion('fn', { revisionId })).toThrow(PreconditionFailedException);
    expect(() => s.publishVersion('fn', { codeSha256: 'AAAA' })).toThrow(
      /CodeSHA256 \(AAAA\) is different from current CodeSHA256 in \$LATEST/,
    );
    expect(s.publishVersion('fn', { revisionId: updated.config.revisionId, codeSha256 }).created).toBe(true);
  });

  it('refuses reserved, malformed and oversized environment variables and out-of-range settings', () => {
    const s = service(Math.random);
    expect(() => s.updateFunctionConfiguration('fn', { variables: { AWS_REGION: 'eu-west-1' } })).toThrow(
      /reserved keys.*AWS_REGION/,
    );
    expect(() => s.updateFunctionConfiguration('fn', { variables: { '1BAD': 'x' } })).toThrow(
      InvalidParameterValueException,
    );
    expect(() => s.updateFunctionConfiguration('fn', { variables: { BIG: 'x'.repeat(5000) } })).toThrow(
      /4KB/,
    );
    expect(() => s.updateFunctionConfiguration('fn', { memorySize: 64 })).toThrow(/MemorySize.*128 to 10240/);
    expect(() => s.updateFunctionConfiguration('fn', { timeoutSeconds: 901 })).toThrow(/Timeout.*1 to 900/);
    expect(() => s.updateFunctionConfiguration('fn', { runtime: 'python3.12' })).toThrow(
      /Node.js functions only/,
    );
    expect(() => s.updateFunctionConfiguration('fn:2', { memorySize: 256 })).toThrow(/without a qualifier/);
  });

  it('reads an alias qualifier as its primary version, and refuses a qualifier that contradicts the name', () => {
    const s = service(Math.random);
    s.setAlias('live', { functionName: 'fn', version: '2', additionalVersions: [] });
    expect(s.getFunctionConfiguration('fn', 'live')).toMatchObject({
      arnQualifier: 'live',
      config: { version: '2' },
    });
    expect(s.getFunctionConfiguration('fn:live').config.version).toBe('2');
    expect(() => s.getFunctionConfiguration('fn:live', '1')).toThrow(
      /does not match the specified qualifier/,
    );
    expect(() => s.getFunctionConfiguration('fn', '7')).toThrow(ResourceNotFound);
  });
});

describe('LambdaService alias updates', () => {
  function withLive() {
    const s = service(Math.random);
    s.setAlias('live', { functionName: 'fn', version: '1', additionalVersions: [] });
    return s;
  }

  it('sets and reads back weights, keeps them when RoutingConfig is left out, clears them when empty', () => {
    const s = withLive();
    const shifted = s.updateAlias('fn', 'live', { additionalVersions: [{ version: '2', weight: 0.2 }] });
    expect(s.getAlias('fn', 'live')).toEqual({
      functionName: 'fn',
      version: '1',
      additionalVersions: [{ version: '2', weight: 0.2 }],
    });
    s.updateAlias('fn', 'live', { description: 'canary', revisionId: shifted.revisionId });
    expect(s.getAlias('fn', 'live')?.additionalVersions).toEqual([{ version: '2', weight: 0.2 }]);
    s.updateAlias('fn', 'live', { functionVersion: '2', additionalVersions: [] });
    expect(s.getAlias('fn', 'live')).toEqual({ functionName: 'fn', version: '2', additionalVersions: [] });
  });

  it('fails with PreconditionFailedException when the alias changed since the RevisionId was read', () => {
    const s = withLive();
    const { revisionId } = s.getAliasConfiguration('fn', 'live');
    s.updateAlias('fn', 'live', { additionalVersions: [{ version: '2', weight: 0.05 }] });
    expect(() => s.updateAlias('fn', 'live', { functionVersion: '2', revisionId })).toThrow(
      PreconditionFailedException,
    );
    expect(s.getAlias('fn', 'live')?.version).toBe('1');
  });

  it.each([
    [
      [
        { version: '2', weight: 0.1 },
        { version: '3', weight: 0.1 },
      ],
      InvalidParameterValueException,
      /at most one/,
    ],
    [[{ version: '2', weight: 1.5 }], InvalidParameterValueException, /from 0.0 to 1.0/],
    [[{ version: '2', weight: -0.1 }], InvalidParameterValueException, /from 0.0 to 1.0/],
    [[{ version: '1', weight: 0.5 }], InvalidParameterValueException, /primary version/],
    [[{ version: '$LATEST', weight: 0.5 }], InvalidParameterValueException, /not a published version/],
    [[{ version: '9', weight: 0.5 }], ResourceNotFound, /fn:9/],
  ])('fails for routing %j', (additionalVersions, errorClass, message) => {
    const s = withLive();
    expect(() => s.updateAlias('fn', 'live', { additionalVersions })).toThrow(errorClass);
    expect(() => s.updateAlias('fn', 'live', { additionalVersions })).toThrow(message);
    expect(s.getAlias('fn', 'live')?.additionalVersions).toEqual([]);
  });

  it('fails for a primary version that does not exist, and for weights on a $LATEST primary', () => {
    const s = withLive();
    expect(() => s.updateAlias('fn', 'live', { functionVersion: '8' })).toThrow(ResourceNotFound);
    expect(() =>
      s.updateAlias('fn', 'live', {
        functionVersion: '$LATEST',
        additionalVersions: [{ version: '2', weight: 0.5 }],
      }),
    ).toThrow(/\$LATEST is not supported/);
  });

  it('creates an alias once; a second one by that name conflicts', () => {
    const s = withLive();
    expect(s.createAlias('fn', { name: 'shadow', functionVersion: '2' })).toMatchObject({
      name: 'shadow',
      version: '2',
    });
    expect(() => s.createAlias('fn', { name: 'shadow', functionVersion: '1' })).toThrow(
      ResourceConflictException,
    );
    expect(() => s.createAlias('fn', { name: '123', functionVersion: '1' })).toThrow(/not only digits/);
    expect(s.listAliases('fn').map((a) => a.name)).toEqual(['live', 'shadow']);
    expect(s.listAliases('fn', '2').map((a) => a.name)).toEqual(['shadow']);
  });
});

describe('alias change log lines', () => {
  it('reads as the platform log shows them', () => {
    expect(
      describeAliasChange({
        functionName: 'fn',
        aliasName: 'live',
        previous: undefined,
        current: { functionName: 'fn', version: '3', additionalVersions: [{ version: '4', weight: 0.05 }] },
        cause: 'api',
      }),
    ).toBe('[lambda] fn:live → v3 95% + v4 5%');
    expect(formatRouting({ version: '3', additionalVersions: [{ version: '4', weight: 1 / 3 }] })).toBe(
      'v3 66.67% + v4 33.33%',
    );
    expect(formatRouting({ version: '$LATEST', additionalVersions: [] })).toBe('$LATEST 100%');
  });
});
