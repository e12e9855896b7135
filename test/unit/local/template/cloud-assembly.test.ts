import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resourcesOfType } from '../../../../local/template/cfn-template.ts';
import { assetForS3Key, findStack, loadCloudAssembly } from '../../../../local/template/cloud-assembly.ts';
import { defined } from '../defined.ts';

const fixtures = fileURLToPath(new URL('../../../fixtures/templates/', import.meta.url));

describe('loadCloudAssembly', () => {
  it('loads each stack with its template and file assets', () => {
    const assembly = loadCloudAssembly(join(fixtures, 'mlops-stack'));

    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['MlopsStack']);
    const stack = defined(assembly.stacks[0], 'a stack');
    expect(resourcesOfType(stack.template, 'AWS::Lambda::Function').length).toBeGreaterThan(0);
    const zipped = [...stack.assets.values()].filter((a) => a.packaging === 'zip');
    expect(zipped).toHaveLength(1);
    const code = defined(zipped[0], 'a zip asset');
    expect(isAbsolute(code.path)).toBe(true);
    expect(existsSync(join(code.path, 'index.js'))).toBe(true);
    expect(stack.environment).toEqual({});
  });

  it('maps a function Code.S3Key to its asset directory', () => {
    const stack = findStack(loadCloudAssembly(join(fixtures, 'mlops-stack')), 'MlopsStack');
    const s3Keys = resourcesOfType(stack.template, 'AWS::Lambda::Function').map(
      ({ resource }) => (resource.Properties?.Code as { S3Key?: string } | undefined)?.S3Key,
    );
    const s3Key = defined(
      s3Keys.find((key) => key !== undefined),
      'a function with its code in an asset',
    );

    const asset = assetForS3Key(stack, s3Key);

    expect(asset.packaging).toBe('zip');
    expect(s3Key).toBe(`${asset.hash}.zip`);
    expect(readFileSync(join(asset.path, 'index.js'), 'utf8')).toContain('handler');
  });

  it('finds an asset by hash when the key has another extension', () => {
    const stack = findStack(loadCloudAssembly(join(fixtures, 'mlops-stack')), 'MlopsStack');
    const asset = defined(
      [...stack.assets.values()].find((a) => a.packaging === 'zip'),
      'a zip asset',
    );

    expect(assetForS3Key(stack, `${asset.hash}.bin`)).toBe(asset);
  });

  it('fails naming the key when the assembly has no such asset', () => {
    const stack = findStack(loadCloudAssembly(join(fixtures, 'mlops-stack')), 'MlopsStack');

    expect(() => assetForS3Key(stack, 'feedface.zip')).toThrow(
      /MlopsStack has no asset for S3 key "feedface.zip"/,
    );
  });

  it('flattens the stacks of nested assemblies (Stages) with their deployed names', () => {
    const assembly = loadCloudAssembly(join(fixtures, 'staged'));

    const names = assembly.stacks.map((s) => [s.stackName, s.displayName]);
    expect(names).toEqual([
      ['mlops-core-dev', 'Dev/Core'],
      ['Top', 'Top'],
    ]);
    expect(findStack(assembly, 'Top').environment).toEqual({ account: '111111111111', region: 'eu-west-1' });
  });

  it('fails naming the stacks there are when the stack is unknown', () => {
    expect(() => findStack(loadCloudAssembly(join(fixtures, 'staged')), 'Nope')).toThrow(
      /stacks: mlops-core-dev, Top/,
    );
  });

  it('fails with a hint when the folder holds no assembly', () => {
    expect(() => loadCloudAssembly(join(fixtures, 'missing'))).toThrow(/manifest\.json.*npm run synth/);
  });
});
