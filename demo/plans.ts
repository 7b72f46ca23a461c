import path from 'node:path';
import type { ToolCall } from './scripted-api.js';

/** What the scripted "model" does for each demo task: write files, run the tests, commit. */
const write = (cwd: string, file: string, content: string): ToolCall => ({
  name: 'Write',
  input: { file_path: path.join(cwd, file), content },
});
const bash = (command: string, description: string): ToolCall => ({ name: 'Bash', input: { command, description } });
const commit = (message: string): ToolCall => bash(`git add -A && git commit -q -m "${message}"`, 'Commit the change');
const test = bash('npm test', 'Run the tests');

export const DEMO_PLANS: Record<string, (cwd: string) => ToolCall[]> = {
  'add-clamp': (cwd) => [
    write(cwd, 'src/clamp.js', 'export function clamp(value, low, high) {\n  return Math.min(Math.max(value, low), high);\n}\n'),
    write(
      cwd,
      'test/clamp.test.js',
      "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { clamp } from '../src/clamp.js';\n\ntest('clamp', () => {\n  assert.equal(clamp(5, 0, 3), 3);\n  assert.equal(clamp(-1, 0, 3), 0);\n});\n",
    ),
    test,
    commit('Add clamp()'),
  ],
  'add-sum': (cwd) => [
    write(cwd, 'src/sum.js', 'export function sum(numbers) {\n  return numbers.reduce((total, n) => total + n, 0);\n}\n'),
    write(
      cwd,
      'test/sum.test.js',
      "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { sum } from '../src/sum.js';\n\ntest('sum', () => {\n  assert.equal(sum([1, 2, 3]), 6);\n  assert.equal(sum([]), 0);\n});\n",
    ),
    test,
    commit('Add sum()'),
  ],
  'export-all': (cwd) => [
    bash('ls src', 'See what the dependencies added'),
    write(cwd, 'src/index.js', "export { add } from './math.js';\nexport { clamp } from './clamp.js';\nexport { sum } from './sum.js';\n"),
    test,
    commit('Export add, clamp and sum from src/index.js'),
  ],
  'changelog-clamp': (cwd) => [
    write(cwd, 'CHANGELOG.md', '# Changelog\n\n- Added `clamp(value, low, high)`.\n'),
    commit('Changelog: clamp()'),
  ],
  'changelog-sum': (cwd) => [write(cwd, 'CHANGELOG.md', '# Changelog\n\n- Added `sum(numbers)`.\n'), commit('Changelog: sum()')],
};
