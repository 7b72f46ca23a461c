import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { shebangNodeFlags } from '../../src/commands/detach.js';
import { orchBin } from '../support/orch.js';

describe('the node flags of a #! line (a background orch gets those of bin/orch.js)', () => {
  it('reads them from `env -S node …`', () => {
    expect(shebangNodeFlags('#!/usr/bin/env -S node --a --b=1\nimport x;\n')).toEqual(['--a', '--b=1']);
    expect(shebangNodeFlags('#!/usr/bin/env -S node  --a  \n')).toEqual(['--a']);
  });

  it('finds none in a plain #! line, another program, or no #! line', () => {
    expect(shebangNodeFlags('#!/usr/bin/env node\n')).toEqual([]);
    expect(shebangNodeFlags('#!/usr/bin/env -S deno --a\n')).toEqual([]);
    expect(shebangNodeFlags('#!/usr/bin/env -S node script.js\n')).toEqual([]);
    expect(shebangNodeFlags('// no #!\n')).toEqual([]);
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
});
