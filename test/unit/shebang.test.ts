import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { shebangNodeFlags } from '../../src/commands/detach.js';
import { orchBin } from '../support/orch.js';

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
});
