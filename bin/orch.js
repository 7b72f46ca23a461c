#!/usr/bin/env node
// The published entry point: orch bundled into dist/bundle/ (scripts/bundle.ts) by npm run build.
import { main } from '../dist/bundle/main.js';

process.exitCode = await main(process.argv);
