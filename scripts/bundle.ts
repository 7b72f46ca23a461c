/**
 * `npm run build`'s second step: src/ bundled into dist/bundle/ (tsc has checked it and compiled
 * dist/ beside it), which is what bin/orch.js runs. One file per entry instead of hundreds: Node's ESM loader resolves and reads
 * each module it meets, and for a command like `orch status` that was most of its start-up time.
 * Commands stay lazy: the `import()`s of the CLI become chunks, loaded only by the commands that
 * use them (esbuild's code splitting). Source maps go back to src/ (stack traces, coverage).
 *
 * The bundle sits two folders below the package root, like dist/<dir>/<file>.js, so the paths
 * orch finds relative to its own module (templates/, package.json, bin/orch.js) stay the same.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'bundle');

/**
 * zod's namespaces re-export its error messages in every language it has (`z.locales`, half of
 * the zod that every command loads: ~370 KB of the bundle's 755 KB zod chunk, parsed at every
 * start). orch reports in English only and never calls `z.config(z.locales…())`: the namespace
 * keeps English, which zod sets as its default from its own module anyway.
 */
const englishOnlyZod: Plugin = {
  name: 'zod-english-only',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: args.importer, namespace: 'zod-english-only' } : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: "export { default as en } from '../locales/en.js';",
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * gray-matter loads js-yaml for its default YAML engine (~100 KB); orch always gives it `yaml`'s
 * parser instead (src/prompt/frontmatter.ts), so js-yaml is never called: it is left out, and a
 * call to it would fail loudly rather than parse differently.
 */
const noJsYaml: Plugin = {
  name: 'no-js-yaml',
  setup(plugin) {
    plugin.onResolve({ filter: /^js-yaml$/ }, (args) =>
      /[\\/]node_modules[\\/]gray-matter[\\/]/.test(args.importer) ? { path: 'js-yaml', namespace: 'no-js-yaml' } : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'no-js-yaml' }, () => ({
      contents:
        "const unused = () => { throw new Error('gray-matter called js-yaml, which orch does not bundle: give it the yaml engine (src/prompt/frontmatter.ts)'); };\nmodule.exports = { safeLoad: unused, safeDump: unused };",
      loader: 'js',
    }));
  },
};

/**
 * orch reads its own files (config, registry) with zod's mini API (src/util/zod.ts): status and
 * plan need ~90 KB of zod that way. Only the MCP server and the workers use zod's full API (and the
 * MCP SDK), and with code splitting a source file both reach goes whole into one shared chunk:
 * zod's core would come with everything the full API uses from it (~300 KB, parsed at every start).
 * So src/util/zod.ts gets zod's files as modules of their own (namespace `orch-zod`): a second,
 * tree-shaken copy of zod's core that only the commands reading config or registry load. Each copy
 * has its own settings (`z.config`): src/util/zod.ts sets English and jitless on its copy.
 */
const ownZod: Plugin = {
  name: 'own-zod',
  setup(plugin) {
    const namespace = 'orch-zod';
    plugin.onResolve({ filter: /^zod\// }, async (args) => {
      if (path.resolve(args.importer) !== path.join(root, 'src', 'util', 'zod.ts')) return undefined;
      const resolved = await plugin.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return { path: resolved.path, namespace };
    });
    plugin.onResolve({ filter: /.*/, namespace }, (args) => {
      if (!args.path.startsWith('.')) throw new Error(`zod imports ${args.path}, which src/util/zod.ts's copy of zod cannot resolve`);
      return { path: path.resolve(path.dirname(args.importer), args.path), namespace };
    });
    plugin.onLoad({ filter: /.*/, namespace }, async (args) => ({
      // English only, as for the full API (englishOnlyZod).
      contents: args.path.endsWith(`${path.sep}locales${path.sep}index.js`)
        ? "export { default as en } from './en.js';"
        : await readFile(args.path, 'utf8'),
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * fdir (tinyglobby's directory walker) loads picomatch at its start with a `require()` inside a
 * try, which the bundle cannot follow: every `orch plan` and `orch run` then read picomatch's five
 * CommonJS files from node_modules, beside the picomatch already bundled. fdir gets the bundled
 * one instead (the same package, found the same way); a build with an fdir that no longer has
 * those lines fails here rather than ship the slower path unnoticed.
 */
const fdirBundledPicomatch: Plugin = {
  name: 'fdir-bundled-picomatch',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]node_modules[\\/]fdir[\\/]dist[\\/]index\.mjs$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const optional = /__require\.resolve\("picomatch"\);\s*pm = __require\("picomatch"\);/;
      if (!optional.test(source))
        throw new Error(`${args.path}: fdir no longer loads picomatch as scripts/bundle.ts expects; update the plugin`);
      return {
        contents: `import __bundledPicomatch from "picomatch";\n${source.replace(optional, 'pm = __bundledPicomatch;')}`,
        loader: 'js',
      };
    });
  },
};

/**
 * commander loads child_process (and with it net, dgram and the stream machinery) when it loads,
 * for subcommands that are programs of their own, which orch has none of. It gets a stand-in that
 * loads child_process at a spawn instead: `orch status` starts no process at all. A build with a
 * commander that no longer has that line fails here.
 */
const commanderLazyChildProcess: Plugin = {
  name: 'commander-lazy-child-process',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager) || (source.match(/childProcess\.(\w+)/g) ?? []).some((use) => use !== 'childProcess.spawn'))
        throw new Error(`${args.path}: commander no longer loads child_process as scripts/bundle.ts expects; update the plugin`);
      return {
        contents: source.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"),
        loader: 'js',
      };
    });
  },
};

/** What both builds below share: the ES-module bundle and the short commands' script. */
const shared = {
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Packages published as UMD first (jsonc-parser) have an ESM build that bundles cleanly.
  mainFields: ['module', 'main'],
  sourcemap: true,
  // Left to Node's resolver, from node_modules: the workers' queue (BullMQ finds its own files
  // and version next to its modules; only `orch worker` and `run --workers` load it), optional
  // native parts that load themselves, and test-only tools.
  external: ['bullmq', 'ioredis', 'msgpackr-extract', 'playwright-core'],
  logLevel: 'warning',
} satisfies BuildOptions;
const sharedPlugins = [ownZod, englishOnlyZod, noJsYaml, fdirBundledPicomatch, commanderLazyChildProcess];

await rm(outdir, { recursive: true, force: true });
await build({
  ...shared,
  // code-cache: how bin/orch.js runs the short commands' script below (src/util/code-cache.ts).
  entryPoints: { main: path.join(root, 'src', 'cli', 'main.ts'), 'code-cache': path.join(root, 'src', 'util', 'code-cache.ts') },
  splitting: true,
  format: 'esm',
  // CommonJS packages inside an ESM bundle still call require() for Node's built-ins, and some
  // read __filename (write-file-atomic hashes it into its temporary names).
  banner: {
    js: [
      "import { createRequire as __orchCreateRequire } from 'node:module';",
      "import { fileURLToPath as __orchFileURLToPath } from 'node:url';",
      'const require = __orchCreateRequire(import.meta.url);',
      'const __filename = __orchFileURLToPath(import.meta.url);',
    ].join(' '),
  },
  plugins: sharedPlugins,
});

/**
 * The short commands' script (src/util/code-cache.ts): `orch status` and `orch plan` once more,
 * as one CommonJS-style script that vm.Script runs with a code cache on a Node without one of its
 * own. esbuild splits only ES modules, so this is one file; the other commands' lazily loaded code
 * (their `import()`s in src/cli/commands/) is left out, since bin/orch.js sends only `status` and
 * `plan` here and main() builds only the command it is given: reaching it anyway fails loudly.
 * Without that the script was 4 MB, and a first start (no cache yet) compiled 40 ms longer than the
 * ES-module bundle's; now ~1 MB, and a first start costs what it did before.
 */
const SHORT_COMMANDS = ['status.ts', 'plan.ts'];
const onlyShortCommands: Plugin = {
  name: 'only-short-commands',
  setup(plugin) {
    const commands = path.join(root, 'src', 'cli', 'commands');
    plugin.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' &&
      !args.path.startsWith('node:') &&
      path.dirname(args.importer) === commands &&
      !SHORT_COMMANDS.includes(path.basename(args.importer))
        ? { path: `${path.relative(root, args.importer)}: ${args.path}`, namespace: 'not-short' }
        : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'not-short' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`orch's short-command script (dist/bundle/short.js) does not hold ${args.path}: only status and plan run from it (scripts/bundle.ts)`)});`,
      loader: 'js',
    }));
  },
};

/** `import('node:…')` left as is would need vm's dynamic-import support: a `require` instead. */
const builtinsRequired: Plugin = {
  name: 'builtins-required',
  setup(plugin) {
    plugin.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-required' } : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'builtin-required' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// The first line holds a hash of the rest (the code cache's key), written once the rest is known;
// the placeholder has the hash's length, so the source map's positions stay right.
const hashPlaceholder = '/*orch-bundle ' + '0'.repeat(16) + '*/';
const short = await build({
  ...shared,
  entryPoints: { short: path.join(root, 'src', 'cli', 'main.ts') },
  outExtension: { '.js': '.js' },
  write: false,
  format: 'cjs',
  define: { 'import.meta.url': '__orchImportMetaUrl' },
  banner: {
    js: `${hashPlaceholder}(function (exports, require, module, __filename, __dirname) { 'use strict'; var __orchImportMetaUrl = require('node:url').pathToFileURL(__filename).href;`,
  },
  footer: { js: '})' },
  plugins: [onlyShortCommands, builtinsRequired, ...sharedPlugins],
});
for (const output of short.outputFiles) {
  let text = output.text;
  if (output.path.endsWith('.js')) {
    if (!text.startsWith(hashPlaceholder)) throw new Error('scripts/bundle.ts: the short script does not start with its hash placeholder');
    const hash = createHash('sha256').update(text.slice(hashPlaceholder.length)).digest('hex').slice(0, 16);
    text = `/*orch-bundle ${hash}*/${text.slice(hashPlaceholder.length)}`;
  }
  await writeFile(output.path, text);
}
