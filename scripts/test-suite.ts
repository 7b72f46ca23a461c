/**
 * The test suite as `npm test` runs it, after lint, build and typecheck:
 *
 * 1. every test layer under this Node, with coverage of src/ from the in-process tests (vitest's
 *    v8 provider) and from every orch process the end-to-end tests spawn (NODE_V8_COVERAGE),
 *    printed as one figure (scripts/coverage.ts);
 * 2. under each Node binary named in ORCH_TEST_NODES (paths separated by ':'), with that Node
 *    first on PATH so orch and the fake agents run on it too, the layers where Node itself
 *    matters (OTHER_NODES_FILES: the unit and process tests, and the end-to-end runs that lean on
 *    process groups, signals, streams, detaching, Redis and the MCP SDK). `.ci/run` installs Node
 *    22 and 24 from the npm registry and names them here; the whole suite three times would not
 *    fit CI's time. These runs set ORCH_TEST_REPEAT=1.
 *
 * Exits non-zero if any run fails.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');

function run(node: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { cwd: root, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function versionOf(node: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(node, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', () => resolve(output.trim() || 'unknown'));
    child.on('error', () => resolve('missing'));
  });
}

/** What runs again on the other Node versions (see above). */
const OTHER_NODES_FILES = [
  'test/unit',
  'test/process',
  'test/e2e/run.test.ts',
  'test/e2e/crash.test.ts',
  'test/e2e/resilience.test.ts',
  'test/e2e/detach.test.ts',
  'test/e2e/workers.test.ts',
  'test/e2e/mcp.test.ts',
  'test/e2e/dashboard.test.ts',
];

const failures: string[] = [];
await rm(path.join(root, 'coverage'), { recursive: true, force: true });
console.log(`\n== the suite on Node ${process.version}, with coverage`);
const covered = await run(process.execPath, [vitest, 'run', '--coverage'], {
  ...process.env,
  ORCH_COVERAGE_DIR: path.join(root, 'coverage', 'processes'),
});
if (covered !== 0) failures.push(`Node ${process.version}`);
else if ((await run(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'coverage.ts')], process.env)) !== 0)
  failures.push('the coverage report');

for (const node of (process.env.ORCH_TEST_NODES ?? '').split(':').filter(Boolean)) {
  const version = await versionOf(node);
  console.log(`\n== the suite on Node ${version} (${node})`);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [path.dirname(node), process.env.PATH ?? ''].join(path.delimiter) };
  delete env.ORCH_COVERAGE_DIR;
  // Tests that prove something independent of Node (the HTML report in Chromium) run once.
  env.ORCH_TEST_REPEAT = '1';
  if ((await run(node, [vitest, 'run', ...OTHER_NODES_FILES], env)) !== 0) failures.push(`Node ${version}`);
}

if (failures.length > 0) {
  console.error(`\nfailed: ${failures.join(', ')}`);
  process.exitCode = 1;
}
