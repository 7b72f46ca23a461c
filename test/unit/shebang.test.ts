import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { shebangNodeFlags } from '../../src/commands/detach.js';
import { orchBin } from '../support/orch.js';
import { tempDir } from '../support/tmp.js';

describe("the node flags bin/orch.js's second line sets for /bin/sh (a background orch gets them too)", () => {
  it("reads them from `':' //; flags='…'` under a #!/bin/sh line", () => {
    expect(shebangNodeFlags('#!/bin/sh\n\':\' //; flags=\'--a --b=1\'; exec node $flags "$0" "$@"\n')).toEqual(['--a', '--b=1']);
    expect(shebangNodeFlags("#!/bin/sh\n':' //;  flags=' --a  '; exec node\n")).toEqual(['--a']);
  });

  it('finds none in another #! line, a line that sets none, or no #! line', () => {
    expect(shebangNodeFlags('#!/usr/bin/env -S node --a --b=1\nimport x;\n')).toEqual([]);
    expect(shebangNodeFlags("#!/bin/bash\n':' //; flags='--a'\n")).toEqual([]);
    expect(shebangNodeFlags("#!/bin/sh\n':' //; flags=''; exec node\n")).toEqual([]);
    expect(shebangNodeFlags("#!/bin/sh\n':' //; flags='script.js'\n")).toEqual([]);
    expect(shebangNodeFlags("// no #!\n':' //; flags='--a'\n")).toEqual([]);
    expect(shebangNodeFlags('')).toEqual([]);
  });

  it('bin/orch.js gives node its memory flags: a 1 MB young generation, an old one that grows by half, no compilers', async () => {
    expect(shebangNodeFlags(await readFile(orchBin, 'utf8'))).toEqual([
      '--max-semi-space-size=1',
      '--heap-growing-percent=50',
      '--no-opt',
      '--no-sparkplug',
      '--no-maglev',
    ]);
  });

  it('/bin/sh gives node the flags only for the commands that hold a run (run, resume, merge, worker, mcp)', async () => {
    // A `node` first on PATH that prints the arguments /bin/sh started it with, one a line.
    const bin = await tempDir();
    const fakeNode = path.join(bin, 'node');
    await writeFile(fakeNode, '#!/bin/sh\nprintf \'%s\\n\' "$@"\n');
    await chmod(fakeNode, 0o755);
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
    const nodeArgs = async (...args: string[]): Promise<string[]> =>
      (await promisify(execFile)('/bin/sh', [orchBin, ...args], { env })).stdout.split('\n').filter((line) => line !== '');
    const flags = shebangNodeFlags(await readFile(orchBin, 'utf8'));
    for (const command of ['run', 'resume', 'merge', 'worker', 'mcp']) {
      expect(await nodeArgs(command, '--json', 'a b')).toEqual([...flags, orchBin, command, '--json', 'a b']);
    }
    for (const args of [
      ['status'],
      ['plan'],
      ['clean', '--all'],
      ['wait'],
      ['logs'],
      ['report'],
      ['init'],
      ['workers'],
      ['help', 'run'],
      ['--version'],
      ['-h', 'run'],
      ['--detach', 'run'],
      [],
    ]) {
      expect(await nodeArgs(...args)).toEqual([orchBin, ...args]);
    }
  });
});
