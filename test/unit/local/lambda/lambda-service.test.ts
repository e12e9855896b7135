import { describe, expect, it } from 'vitest';
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
