/**
 * The zod orch's own files (config, registry) are read with: zod's tree-shakable "mini" API,
 * which bundles only the schema kinds and checks orch uses (~60 KB) where zod's full API brings
 * all of it (~390 KB, parsed and run at every start: ~30 ms of a short command's ~140). The checks,
 * the parsing and the messages are the same code (zod's core), in English: the full API makes
 * English the default when it builds its first schema; the mini API leaves that to its user.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// A command parses a registry or a config once: zod's compiled fast path costs more to build
// (~20 ms of a short command's start) than it saves on one parse.
config({ ...en(), jitless: true });

// Importers take it as a namespace (`import * as z`): the bundler keeps only what they use.
export * from 'zod/mini';
