import { describe, expect, it } from 'vitest';
import { isValidBucketName, localResourceName } from '../../../../local/emulators/names.ts';

describe('localResourceName', () => {
  it('names a table after its stack and logical id', () => {
    expect(localResourceName('MlopsStack', 'RegistryTable', 'table')).toBe('MlopsStack-RegistryTable');
  });

  it('uses the name the template sets', () => {
    expect(localResourceName('MlopsStack', 'RegistryTable', 'table', 'registry')).toBe('registry');
    expect(localResourceName('MlopsStack', 'DataBucket', 'bucket', 'my-data')).toBe('my-data');
  });

  it('gives buckets valid, lowercase names', () => {
    const name = localResourceName('MlopsStack', 'DataBucketE3889A50', 'bucket');

    expect(name).toBe('mlopsstack-databuckete3889a50');
    expect(isValidBucketName(name)).toBe(true);
  });

  it('cuts long names to the service limit, keeping them distinct and stable', () => {
    const stack = 'AVeryLongStackNameForTheMachineLearningPlatform';
    const a = localResourceName(stack, 'AccessLogsBucketWithAnEvenLongerLogicalId1', 'bucket');
    const b = localResourceName(stack, 'AccessLogsBucketWithAnEvenLongerLogicalId2', 'bucket');

    expect(a.length).toBeLessThanOrEqual(63);
    expect(isValidBucketName(a) && isValidBucketName(b)).toBe(true);
    expect(a).not.toBe(b);
    expect(localResourceName(stack, 'AccessLogsBucketWithAnEvenLongerLogicalId1', 'bucket')).toBe(a);
    expect(
      localResourceName(stack, 'PredictFunctionWithAVeryLongLogicalIdIndeed', 'function').length,
    ).toBeLessThanOrEqual(64);
  });

  it('fails when the template sets an invalid bucket name', () => {
    expect(() => localResourceName('S', 'Data', 'bucket', 'Bad_Name')).toThrow(
      /"Bad_Name" of Data is not a valid S3 bucket name/,
    );
  });
});
