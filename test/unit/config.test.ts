import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { projectRoot } from '../support/orch.js';
import { tempDir, writeFiles } from '../support/tmp.js';

async function repoWithConfig(text?: string): Promise<string> {
  const dir = await tempDir();
  if (text !== undefined) await writeFiles(dir, { '.gadugi/config.json': text });
  return dir;
}

describe('config', () => {
  it('documents every default: the shipped config parses to exactly the schema defaults', async () => {
    const template = await readFile(path.join(projectRoot, 'templates', 'config.json'), 'utf8');
    expect(configSchema.parse(parseJsonc(template))).toEqual(configSchema.parse({}));
    expect(await readFile(path.join(projectRoot, '.gadugi', 'config.json'), 'utf8')).toBe(template);
  });

  it('layers file, environment and flags', async () => {
    const dir = await repoWithConfig('// comment\n{ "maxParallel": 3, "agent": { "model": "opus" }, "timeouts": { "task": "20m" }, }');
    const { config } = await loadConfig(dir, { ORCH_MAX_PARALLEL: '5', ORCH_CLAUDE_BIN: '/opt/claude' }, [
      { key: 'maxParallel', value: 2, flag: '--max-parallel' },
    ]);
    expect(config.maxParallel).toBe(2);
    expect(config.agent).toMatchObject({ model: 'opus', bin: '/opt/claude', permissionMode: 'acceptEdits' });
    expect(config.timeouts.task).toBe(20 * 60_000);
    expect(config.retries.count).toBe(1);
  });

  it('names the bad key and where it came from', async () => {
    const file = await repoWithConfig('{ "agent": { "permissionMode": "yolo" } }');
    await expect(loadConfig(file, {})).rejects.toThrow(/^invalid config value for "agent\.permissionMode" \(from \.gadugi\/config\.json\)/);
    const env = await repoWithConfig();
    await expect(loadConfig(env, { ORCH_MAX_PARALLEL: 'lots' })).rejects.toThrow(
      /"maxParallel" \(from environment variable ORCH_MAX_PARALLEL\)/,
    );
    await expect(loadConfig(env, {}, [{ key: 'timeouts.task', value: 'soon', flag: '--timeout' }])).rejects.toThrow(
      /"timeouts\.task" \(from --timeout\): must be a duration/,
    );
    const unknown = await repoWithConfig('{ "agnet": {} }');
    await expect(loadConfig(unknown, {})).rejects.toThrow(/unknown key "agnet"/);
  });

  it('reports broken JSON with its line', async () => {
    const dir = await repoWithConfig('{\n  "base": "main"\n  "maxParallel": 2\n}');
    await expect(loadConfig(dir, {})).rejects.toThrow(/^\.gadugi\/config\.json:3: invalid JSON/);
  });

  it('uses the defaults without a file', async () => {
    expect((await loadConfig(await repoWithConfig(), {})).config).toEqual(configSchema.parse({}));
  });
});
