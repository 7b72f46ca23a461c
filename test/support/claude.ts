import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'vitest';
import { offlineClaudeEnv, startScriptedApi, type ScriptedApi, type Script } from '../../demo/scripted-api.js';
import { projectRoot } from './orch.js';
import { tempDir } from './tmp.js';

/** The real Claude Code CLI, installed as a pinned devDependency. */
export const realClaude = path.join(projectRoot, 'node_modules', '.bin', 'claude');

/** Environment for orch to run the real CLI offline against a scripted API at `apiUrl`. */
export async function realClaudeEnv(apiUrl: string): Promise<NodeJS.ProcessEnv> {
  const home = await tempDir('orch-claude-');
  const configDir = path.join(home, 'config');
  const tmp = path.join(home, 'tmp');
  await mkdir(configDir, { recursive: true });
  await mkdir(tmp, { recursive: true });
  return { ...offlineClaudeEnv(apiUrl, configDir, tmp), ORCH_CLAUDE_BIN: realClaude };
}

const apis: ScriptedApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

/** A scripted Messages API for one test, closed after it. */
export async function scriptedApi(script: Script): Promise<ScriptedApi> {
  const api = await startScriptedApi(script);
  apis.push(api);
  return api;
}
