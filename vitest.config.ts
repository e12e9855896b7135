import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // CloudFormation's built-in validation adds ~5 s per synth; cfn-lint covers it in CI.
    env: { CDK_VALIDATION: 'false', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Files run in parallel: each integration file boots its own local runtime on free ports.
    fileParallelism: true,
    pool: 'forks',
  },
});
