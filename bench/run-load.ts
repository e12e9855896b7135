// Child-process entry for the load generator: reads a LoadSpec from argv, prints a LoadResult.
import { generateLoad, type LoadSpec } from './load-generator.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const result = await generateLoad(spec);
process.stdout.write(JSON.stringify(result));
