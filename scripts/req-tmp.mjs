import { createRequire } from 'node:module';
const { main } = createRequire(import.meta.url)('../dist/cjs-proto/main.cjs');
process.exitCode = await main(process.argv);
