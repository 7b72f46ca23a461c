/**
 * A code cache for `orch status` and `orch plan`: Node 20 has none for our code (Node ≥ 22.1 has
 * `module.enableCompileCache`, and this was faster there too): V8 compiling our bundle's code was
 * ~10% of their start.
 *
 * scripts/bundle.ts builds those two commands' code a second time, as one CommonJS-style script
 * (dist/bundle/short.js: the whole file is one function expression, `(function (exports, require,
 * module, __filename, __dirname) { … })`). bin/orch.js runs it here through `vm.Script` with the
 * code V8 compiled the last time (`cachedData`), and after the command has answered, when there
 * was no cache or V8 refused it, writes the code compiled during this start
 * (`script.createCachedData()`, which holds every function that ran, not only the top level).
 *
 * Measured (README, Benchmarks): with the cache, `status` and `plan` take ~25 and ~35 ms less CPU
 * than the ES-module bundle; without it (the first start) about the same as the ES-module bundle.
 *
 * The cache is one file per command in `$XDG_CACHE_HOME/orch/code` (else `~/.cache/orch/code`),
 * named after Node's version, the architecture, Node's flags and the bundle's content hash, so a
 * new build, another Node or other flags never meet an old cache. Safe when the file is stale or
 * corrupt (V8 checks what it is given and refuses it: `cachedDataRejected`, then it is rewritten),
 * when the folder cannot be written (the command runs without, silently) and when two orch write
 * at once (each writes a file of its own and renames it into place).
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

/** What scripts/bundle.ts puts first in the short commands' script: a hash of the rest of it. */
const BUNDLE_HASH = /^\/\*orch-bundle ([0-9a-f]+)\*\//;

/** Where code caches are kept; as the git-version cache (src/worktree/git-version.ts) is. */
export function codeCacheDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : undefined);
  return base === undefined ? undefined : path.join(base, 'orch', 'code');
}

/** FNV-1a, 32 bits: enough to tell flags or builds apart in a file name, without node:crypto. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** The part of a cache file's name that only Node and its flags decide. */
function runtimeKey(execArgv: readonly string[], env: NodeJS.ProcessEnv): string {
  return `${process.version}-${process.arch}-${fnv1a([...execArgv, env.NODE_OPTIONS ?? ''].join('\0'))}`;
}

/** The cache file for `name`'s script `source`, under `directory`. */
export function codeCacheFile(
  directory: string,
  name: string,
  source: string,
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const bundle = BUNDLE_HASH.exec(source)?.[1] ?? fnv1a(source);
  return path.join(directory, `${name}-${runtimeKey(execArgv, env)}-${bundle}.v8`);
}

export interface CachedScript<T> {
  /** What the script put in `module.exports`. */
  exports: T;
  /** Whether V8 used the cache it was given. */
  cacheUsed: boolean;
  /** Writes the compiled code when there was no cache or V8 refused it; never throws. */
  save(): void;
}

/**
 * Runs `file`, a script whose whole text is one function expression taking CommonJS's five
 * arguments, with the code cache named `name`.
 */
export function runCachedScript<T>(file: string, name: string, env: NodeJS.ProcessEnv = process.env): CachedScript<T> {
  const source = readFileSync(file, 'utf8');
  const directory = codeCacheDirectory(env);
  const cacheFile = directory === undefined ? undefined : codeCacheFile(directory, name, source, process.execArgv, env);
  let cachedData: Buffer | undefined;
  if (cacheFile !== undefined) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // No cache yet (or unreadable): compiled from the source, and written after.
    }
  }
  // A file URL, as the ES-module bundle's scripts have: stack traces and coverage read the same.
  const script = new vm.Script(source, { filename: pathToFileURL(file).href, cachedData });
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} as unknown };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  const cacheUsed = cachedData !== undefined && !script.cachedDataRejected;
  return {
    exports: module.exports as T,
    cacheUsed,
    save: () => {
      if (cacheFile === undefined || cacheUsed) return;
      writeCache(cacheFile, name, script);
    },
  };
}

/** Best effort: a cache that cannot be written only means compiling again next time. */
function writeCache(cacheFile: string, name: string, script: vm.Script): void {
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  try {
    const directory = path.dirname(cacheFile);
    mkdirSync(directory, { recursive: true });
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cacheFile);
    // Caches of earlier builds for this command under the same Node and flags are dead: removed.
    const prefix = path.basename(cacheFile).slice(0, path.basename(cacheFile).lastIndexOf('-') + 1);
    for (const entry of readdirSync(directory))
      if (entry.startsWith(prefix) && entry.endsWith('.v8') && entry !== path.basename(cacheFile) && entry.startsWith(`${name}-`))
        rmSync(path.join(directory, entry), { force: true });
  } catch {
    // Read-only or full disk, a file where the folder should be: no cache, nothing said.
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Nothing was written.
    }
  }
}

/** `orch status` or `orch plan` from the short commands' script, with its code cache. */
export async function runShortCommand(argv: string[]): Promise<number> {
  const file = fileURLToPath(new URL('./short.js', import.meta.url));
  const command = argv[2] ?? 'short';
  const script = runCachedScript<{ main: (argv: string[]) => Promise<number> }>(file, command);
  const code = await script.exports.main(argv);
  script.save();
  return code;
}
