#!/usr/bin/env node
// `mlops` command-line entry: registers tsx so the TypeScript CLI runs without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/index.ts');
