import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, finishes, roomyMachine } from '../support/agents.js';
import { tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { onlyRunId } from '../support/run-state.js';
import { waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
// The flags that work here offline: nothing reaches out, no sandbox (root), a fresh profile.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TASKS = ['base', 'builds-on-base', 'clash', 'flaky', 'throttled', 'escape-me'];

describe('orch report', () => {
  // Chromium proves the page, not Node: once per suite (ORCH_TEST_REPEAT marks the runs on other Node versions).
  it.skipIf(process.env.ORCH_TEST_REPEAT === '1')(
    'writes a self-contained HTML report that loads in headless Chromium with no error and no request, and says the same as text',
    async () => {
      expect(existsSync(CHROMIUM), `headless Chromium is needed: apt-get install -y chromium (.ci/run installs it)`).toBe(true);
      const state = await agentState();
      const repo = await tempRepo({ 'src/shared.js': 'x\n' });
      await writeFiles(repo, {
        'prompts/base.md': `---\nfiles: [src/shared.js]\n---\n# Base\n${agentScript({ steps: [{ cost: 0.25 }, ...finishes('base.txt')] })}`,
        'prompts/builds-on-base.md': `---\ndepends_on: [base]\n---\n# Builds on base\n${agentScript({ steps: finishes('dep.txt') })}`,
        'prompts/clash.md': `---\nfiles: [src/shared.js]\n---\n# Clash\n${agentScript({ steps: finishes('clash.txt') })}`,
        'prompts/flaky.md': `# Flaky\n${agentScript({ runs: [[{ exit: 1, message: 'tests failed' }], finishes('flaky.txt')] })}`,
        'prompts/throttled.md': `# Throttled\n${agentScript({ steps: [{ apiRetry: 429, delayMs: 300 }, ...finishes('throttled.txt')] })}`,
        'prompts/escape-me.md': `# Escape <b>me</b> & "co"\n${agentScript({ steps: finishes('escape.txt') })}`,
        '.gadugi/config.json': JSON.stringify({ api: { backoffBase: '1s' }, retries: { backoff: '1s' } }),
      });
      const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
      const run = await runOrch(['run', 'prompts/*.md', '--max-parallel', '3', '--max-cost', '10'], { cwd: repo, env });
      expect(run.exitCode).toBe(0);
      const runId = await onlyRunId(repo);

      // Text: the same facts.
      const text = await runOrch(['report'], { cwd: repo, env });
      expect(text.exitCode).toBe(0);
      for (const heading of ['Timeline', 'Pauses', 'Concurrency limit', 'Dependencies and conflicts', 'Tasks', 'Totals'])
        expect(text.stdout).toContain(heading);
      for (const id of TASKS) expect(text.stdout).toContain(id);
      expect(text.stdout).toMatch(
        /attempt 1 \(fresh\) \S+ requeued · 0 turns, \$0\.0000: tests failed; retry 1 of 1|attempt 1 \(fresh\) \S+ requeued.*tests failed/,
      );
      expect(text.stdout).toMatch(/attempt 2 \(retry\) \S+ succeeded/);
      expect(text.stdout).toMatch(/API 429: no new agents/);
      expect(text.stdout).toContain('base → builds-on-base');
      expect(text.stdout).toContain('base ⟷ clash conflict on src/shared.js');
      expect(text.stdout).toMatch(/waited \S+: (conflicts with base \(src\/shared\.js\)|waits for base)/);
      expect(text.stdout).toMatch(/cost \$0\.\d+ of a \$10\.00 budget/);

      // HTML, opened in a real headless Chromium.
      const file = path.join(repo, 'report.html');
      const html = await runOrch(['report', runId, '--html', 'report.html'], { cwd: repo, env });
      expect(html).toMatchObject({ exitCode: 0, stdout: `wrote ${file}`, stderr: '' });
      const page = await readFile(file, 'utf8');
      expect(page).not.toMatch(/<script|https?:\/\/|@import|url\((?!#)/i);
      expect(page).toContain('Escape &lt;b&gt;me&lt;/b&gt; &amp; &quot;co&quot;');

      const profile = await tempDir('orch-chromium-');
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1300, height: 1000 },
      });
      try {
        const tab = await browser.newPage();
        const problems: string[] = [];
        const requests: string[] = [];
        tab.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
        });
        tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        tab.on('request', (request) => requests.push(request.url()));
        await tab.goto(pathToFileURL(file).href, { waitUntil: 'load' });
        expect(problems).toEqual([]);
        // Nothing but the file itself (and the inline favicon) was ever requested.
        expect(requests.filter((url) => url !== pathToFileURL(file).href && !url.startsWith('data:'))).toEqual([]);
        expect(await tab.title()).toBe(`orch run ${runId}`);
        for (const id of TASKS) {
          expect(await tab.locator(`#timeline [data-task="${id}"]`).count()).toBe(1);
          expect(await tab.locator(`#tasks tr[data-task="${id}"]`).count()).toBe(1);
        }
        expect(await tab.locator('#graph .node').count()).toBe(TASKS.length);
        expect(await tab.locator('#timeline rect.attempt').count()).toBe(TASKS.length + 1);
        expect(await tab.locator('#timeline rect.pause.api').count()).toBeGreaterThan(0);
        expect(await tab.locator('#graph path.edge.conflict').count()).toBe(1);
        expect(await tab.locator('b', { hasText: 'me' }).count()).toBe(0);

        // The screenshot is a picture, not a blank page: many colours, much of it not white.
        const png = PNG.sync.read(await tab.screenshot({ fullPage: true }));
        const colours = new Set<number>();
        let inked = 0;
        for (let index = 0; index < png.data.length; index += 4) {
          const [r, g, b] = [png.data[index]!, png.data[index + 1]!, png.data[index + 2]!];
          colours.add((r << 16) | (g << 8) | b);
          if (r + g + b < 600) inked += 1;
        }
        expect(colours.size).toBeGreaterThan(50);
        expect(inked / (png.width * png.height)).toBeGreaterThan(0.02);
        // Green (succeeded) and red-free? The retried task's first attempt is orange (requeued).
        expect([...colours].some((colour) => colour === 0x2e9d4f)).toBe(true);
      } finally {
        await browser.close();
      }

      // --open: the desktop's opener gets the file (a stand-in xdg-open records it), and without one, one clear line.
      const bin = await tempDir('orch-bin-');
      const opened = path.join(bin, 'opened.txt');
      await writeFile(path.join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > ${JSON.stringify(opened)}\n`);
      await chmod(path.join(bin, 'xdg-open'), 0o755);
      const git = (await execa('sh', ['-c', 'command -v git'])).stdout.trim();
      await symlink(git, path.join(bin, 'git'));
      const withOpener = await runOrch(['report', '--open'], { cwd: repo, env: { ...env, PATH: bin } });
      const written = path.join(repo, '.gadugi', 'runs', runId, 'report.html');
      expect(withOpener).toMatchObject({ exitCode: 0, stdout: `wrote ${written}` });
      expect((await waitFor(() => readFile(opened, 'utf8'), 10_000, 'the opener')).trim()).toBe(written);
      const noOpener = path.join(bin, 'none');
      await mkdir(noOpener);
      await symlink(git, path.join(noOpener, 'git'));
      const without = await runOrch(['report', '--open'], { cwd: repo, env: { ...env, PATH: noOpener } });
      expect(without.exitCode).toBe(2);
      expect(without.stderr).toBe(
        `orch: wrote ${written}, but cannot open it: xdg-open is not on PATH; open it in a browser yourself.\n`.trimEnd(),
      );
    },
  );

  it('cannot write the report: one line, exit 2; no run yet: one line, exit 2', async () => {
    const repo = await tempRepo();
    const none = await runOrch(['report'], { cwd: repo });
    expect(none).toMatchObject({ exitCode: 2, stdout: '' });
    expect(none.stderr).toBe('orch: no orch runs in this repository yet: start one with `orch run prompts/*.md`.');
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const env = fakeAgentEnv(await agentState());
    expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env })).exitCode).toBe(0);
    const result = await runOrch(['report', '--html', 'no-such-folder/report.html'], { cwd: repo, env });
    expect(result).toMatchObject({ exitCode: 2, stdout: '' });
    expect(result.stderr).toBe(
      `orch: cannot write the report to ${path.join(repo, 'no-such-folder', 'report.html')}: ENOENT; choose another --html file.`,
    );
  });
});
