import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeCacheDirectory, codeCacheFile } from '../../src/util/code-cache.js';
import { tempDir } from '../support/tmp.js';

// Each start in a process of its own, as orch's are: within one process V8 finds a script it has
// compiled already in its own memory and never looks at the cache it is given.
const built = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bundle', 'code-cache.js');
const runner = `
const { runCachedScript } = await import(process.argv[2]);
const run = runCachedScript(process.argv[3], process.argv[4]);
const answer = run.exports.answer(Number(process.argv[5]));
run.save();
console.log(JSON.stringify({ cacheUsed: run.cacheUsed, answer, file: run.exports.file }));
`;

interface Started {
  cacheUsed: boolean;
  answer: number;
  file?: string;
  output: string;
}

function runCachedScript(file: string, name: string, env: NodeJS.ProcessEnv, input = 1): Started {
  // A file, not \`node -e\`: no flag on node's command line, so the cache's key is codeCacheFile's.
  const script = path.join(path.dirname(file), 'runner.mjs');
  writeFileSync(script, runner);
  const output = execFileSync(process.execPath, [script, built, file, name, String(input)], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { ...(JSON.parse(output) as Omit<Started, 'output'>), output };
}

/** A script shaped as scripts/bundle.ts shapes dist/bundle/short.js: its hash, then one function. */
function script(hash: string, body: string): string {
  const functions = Array.from({ length: 40 }, (_, index) => `function f${index}(x) { return x + ${index}; }`).join('\n');
  return `/*orch-bundle ${hash}*/(function (exports, require, module, __filename, __dirname) { 'use strict';\n${functions}\n${body}\n})`;
}

async function setup(hash = '00000000000000a1', body = 'module.exports.answer = (x) => f39(x) * 2; module.exports.file = __filename;') {
  const dir = await tempDir();
  const file = path.join(dir, 'short.js');
  writeFileSync(file, script(hash, body));
  const env = { XDG_CACHE_HOME: path.join(dir, 'cache'), NODE_OPTIONS: '' };
  return { dir, file, env, cacheDir: codeCacheDirectory(env)! };
}

describe('the short commands’ code cache', () => {
  it('lives under $XDG_CACHE_HOME/orch/code, else ~/.cache/orch/code, else nowhere', () => {
    expect(codeCacheDirectory({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(path.join('/x', 'orch', 'code'));
    expect(codeCacheDirectory({ HOME: '/h' })).toBe(path.join('/h', '.cache', 'orch', 'code'));
    expect(codeCacheDirectory({})).toBeUndefined();
  });

  it('runs the script, writes the cache after, and uses it the next time', async () => {
    const { file, env, cacheDir } = await setup();
    const first = runCachedScript(file, 'status', env, 1);
    expect(first).toMatchObject({ answer: 80, file, cacheUsed: false });
    const cacheFile = codeCacheFile(cacheDir, 'status', readFileSync(file, 'utf8'), [], env);
    expect(existsSync(cacheFile)).toBe(true);
    expect(runCachedScript(file, 'status', env, 2)).toMatchObject({ answer: 82, cacheUsed: true });
    expect(readdirSync(cacheDir)).toEqual([path.basename(cacheFile)]);
  });

  it('still runs with a corrupt or stale cache, and rewrites it', async () => {
    const { file, env, cacheDir } = await setup();
    const cacheFile = codeCacheFile(cacheDir, 'plan', readFileSync(file, 'utf8'), [], env);
    runCachedScript(file, 'plan', env);
    // Corrupt: bytes that are no code cache at all.
    writeFileSync(cacheFile, 'not a code cache');
    expect(runCachedScript(file, 'plan', env, 0)).toMatchObject({ answer: 78, cacheUsed: false });
    expect(readFileSync(cacheFile).toString()).not.toBe('not a code cache');
    expect(runCachedScript(file, 'plan', env).cacheUsed).toBe(true);
    // Truncated: half of a real one.
    writeFileSync(cacheFile, readFileSync(cacheFile).subarray(0, 200));
    expect(runCachedScript(file, 'plan', env)).toMatchObject({ answer: 80, cacheUsed: false });
    expect(runCachedScript(file, 'plan', env).cacheUsed).toBe(true);
    // Stale: the cache of another script under this script's name.
    const other = await setup('00000000000000b2', 'module.exports.answer = () => 1; module.exports.more = "a longer script";');
    runCachedScript(other.file, 'plan', other.env);
    writeFileSync(cacheFile, readFileSync(codeCacheFile(other.cacheDir, 'plan', readFileSync(other.file, 'utf8'), [], other.env)));
    expect(runCachedScript(file, 'plan', env)).toMatchObject({ answer: 80, cacheUsed: false });
    expect(runCachedScript(file, 'plan', env).cacheUsed).toBe(true);
  });

  it('runs without a cache, saying nothing, when its folder cannot be written', async () => {
    const { dir, file } = await setup();
    // A file where the cache's folder would go: mkdir fails, as on a read-only home (even as root).
    writeFileSync(path.join(dir, 'blocked'), '');
    const env = { XDG_CACHE_HOME: path.join(dir, 'blocked'), NODE_OPTIONS: '' };
    for (let round = 0; round < 2; round++) {
      const run = runCachedScript(file, 'status', env);
      expect(run).toMatchObject({ answer: 80, cacheUsed: false });
      // Nothing but the runner's own line.
      expect(run.output.trim().split('\n')).toHaveLength(1);
    }
    expect(readdirSync(dir).sort()).toEqual(['blocked', 'runner.mjs', 'short.js']);
  });

  it('is keyed by the bundle, the command, Node and its flags; a new build’s cache replaces the old', async () => {
    const { file, env, cacheDir } = await setup();
    const source = readFileSync(file, 'utf8');
    const key = codeCacheFile(cacheDir, 'status', source, [], env);
    expect(path.basename(key)).toContain(`-${process.version}-${process.arch}-`);
    expect(path.basename(key)).toMatch(/-00000000000000a1\.v8$/);
    expect(codeCacheFile(cacheDir, 'status', script('00000000000000c3', ''), [], env)).not.toBe(key);
    expect(codeCacheFile(cacheDir, 'plan', source, [], env)).not.toBe(key);
    expect(codeCacheFile(cacheDir, 'status', source, ['--no-opt'], env)).not.toBe(key);
    expect(codeCacheFile(cacheDir, 'status', source, [], { ...env, NODE_OPTIONS: '--max-old-space-size=100' })).not.toBe(key);
    // A script without the hash line is keyed by its text.
    expect(codeCacheFile(cacheDir, 'status', 'a', [], env)).not.toBe(codeCacheFile(cacheDir, 'status', 'b', [], env));

    runCachedScript(file, 'status', env);
    runCachedScript(file, 'plan', env);
    writeFileSync(file, script('00000000000000d4', 'module.exports.answer = (x) => x;'));
    expect(runCachedScript(file, 'status', env, 5)).toMatchObject({ answer: 5, cacheUsed: false });
    const files = readdirSync(cacheDir).sort();
    expect(files).toHaveLength(2);
    expect(files.find((name) => name.startsWith('status-'))).toMatch(/-00000000000000d4\.v8$/);
    expect(files.find((name) => name.startsWith('plan-'))).toMatch(/-00000000000000a1\.v8$/);
  });
});
