import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ParseError } from 'jsonc-parser';
import type * as z from '../util/zod.js';
import { UserError, errorCode } from '../errors.js';
import { configSchema, type ConfigInput, type OrchConfig } from './schema.js';

export const CONFIG_FILE = path.join('.gadugi', 'config.json');

/** Environment variables that override config keys (and are overridden by flags). */
export const ENV_OVERRIDES: ReadonlyArray<{ name: string; key: string }> = [
  { name: 'ORCH_BASE', key: 'base' },
  { name: 'ORCH_MAX_PARALLEL', key: 'maxParallel' },
  { name: 'ORCH_CLAUDE_BIN', key: 'agent.bin' },
  { name: 'ORCH_MODEL', key: 'agent.model' },
  { name: 'ORCH_PERMISSION_MODE', key: 'agent.permissionMode' },
  { name: 'ORCH_WORKTREE_ROOT', key: 'worktree.root' },
  { name: 'ORCH_RETRIES', key: 'retries.count' },
  { name: 'ORCH_TASK_TIMEOUT', key: 'timeouts.task' },
  { name: 'ORCH_WORKERS', key: 'workers.url' },
  { name: 'ORCH_SANDBOX', key: 'agent.sandbox' },
];

/** A value set on the command line, with the flag that set it (for error messages). */
export interface FlagOverride {
  key: string;
  value: unknown;
  flag: string;
}

/** Numbers and booleans arrive as text from the environment; keep anything else as written. */
function fromEnvText(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

async function readConfigFile(repoRoot: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path.join(repoRoot, CONFIG_FILE), 'utf8');
  } catch (error) {
    // No file, or no .gadugi folder at all (ENOTDIR when .gadugi is a file): no settings.
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return {};
    throw new UserError(`cannot read ${CONFIG_FILE}: ${errorCode(error) ?? String(error)}.`);
  }
  // Loaded only when there is a file to read (~47 KB that `orch status` and a repository without
  // a config file never need).
  const { parse: parseJsonc, printParseErrorCode } = await import('jsonc-parser');
  const errors: ParseError[] = [];
  const data: unknown = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    throw new UserError(
      `${CONFIG_FILE}:${lineOf(text, first.offset)}: invalid JSON (${printParseErrorCode(first.error)}); fix the file or delete it to use the defaults.`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UserError(`${CONFIG_FILE}: must hold a JSON object of settings; see \`orch init\` for a documented example.`);
  }
  return data as Record<string, unknown>;
}

function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>): string {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const keyPath = [...issue.path.map(String), ...keys.slice(0, 1)].join('.');
  const source = sources.get(keyPath) ?? CONFIG_FILE;
  if (issue.code === 'unrecognized_keys') {
    return `invalid config in ${source}: unknown key "${keyPath}"; remove it (see the README's Config section for every key).`;
  }
  const hint = source === CONFIG_FILE ? 'fix it, or remove it to use the default' : `fix ${source}`;
  return `invalid config value for "${keyPath}" (from ${source}): ${issue.message.replace(/^Invalid input: /, '')}; ${hint}.`;
}

export interface LoadedConfig {
  config: OrchConfig;
  /** The merged settings before defaults were applied: what a resumed run re-validates. */
  input: ConfigInput;
}

/**
 * The effective config: `.gadugi/config.json` in the repository (or, for a resumed run, the
 * settings it started with), overridden by environment variables, overridden by flags. Any
 * invalid value is a UserError naming the key and where it came from.
 */
export async function loadConfig(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
  flags: readonly FlagOverride[] = [],
  base?: Record<string, unknown>,
): Promise<LoadedConfig> {
  const merged = base ? structuredClone(base) : await readConfigFile(repoRoot);
  const sources = new Map<string, string>();
  for (const { name, key } of ENV_OVERRIDES) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    setKey(merged, key, fromEnvText(text));
    sources.set(key, `environment variable ${name}`);
  }
  for (const { key, value, flag } of flags) {
    if (value === undefined) continue;
    setKey(merged, key, value);
    sources.set(key, flag);
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new UserError(describeIssue(result.error.issues[0]!, sources));
  return { config: result.data, input: merged };
}
