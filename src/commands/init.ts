import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyEdits, modify, parse as parseJson, printParseErrorCode, type ParseError } from 'jsonc-parser';
import writeFileAtomic from 'write-file-atomic';
import { UserError, errorCode } from '../errors.js';
import { excludeStateDir } from '../worktree/git.js';
import { pathExists } from '../util/fs.js';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

/** What `orch init` writes: template → place in the repository. */
export const INIT_FILES: ReadonlyArray<{ template: string; target: string }> = [
  { template: 'commands/orchestrate.md', target: '.claude/commands/orchestrate.md' },
  { template: 'agents/workflow-manager.md', target: '.claude/agents/workflow-manager.md' },
  { template: 'config.json', target: '.gadugi/config.json' },
];

/** Claude Code's project-scope MCP servers, at the repository's root. */
export const MCP_CONFIG = '.mcp.json';
/** orch's entry in it: Claude Code starts `orch mcp` in the repository. */
export const MCP_SERVER_NAME = 'orch';
export const MCP_SERVER_ENTRY = { command: 'orch', args: ['mcp'] } as const;

export interface InitResult {
  target: string;
  /** `added`: orch's server entry was added to an existing `.mcp.json`. */
  action: 'wrote' | 'overwrote' | 'kept' | 'added';
  /** What in the file was meant, when it is one entry rather than the whole file. */
  entry?: string;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** The repository's `.mcp.json` as it stands (undefined when there is none), checked before anything is written. */
async function readMcpConfig(file: string): Promise<{ text: string; data: Record<string, unknown> } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${MCP_CONFIG}: ${errorCode(error) ?? String(error)}.`);
  }
  const errors: ParseError[] = [];
  const data: unknown = parseJson(text, errors, { allowTrailingComma: false, disallowComments: true });
  const first = errors[0];
  if (first) {
    throw new UserError(
      `${MCP_CONFIG} is not valid JSON (${printParseErrorCode(first.error)} at ${lineAndColumn(text, first.offset)}): fix it, then run orch init again; nothing was written.`,
    );
  }
  const object = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!object(data))
    throw new UserError(
      `${MCP_CONFIG} must hold a JSON object ({"mcpServers": {…}}): fix it, then run orch init again; nothing was written.`,
    );
  if (data.mcpServers !== undefined && !object(data.mcpServers)) {
    throw new UserError(
      `${MCP_CONFIG}: "mcpServers" must be an object of servers by name: fix it, then run orch init again; nothing was written.`,
    );
  }
  return { text, data };
}

/**
 * Registers `orch mcp` in `.mcp.json`: a new file, or orch's entry added under `mcpServers` with
 * every other server and key (and the file's layout) kept. An existing `orch` entry is replaced
 * only with `force`.
 */
async function registerMcpServer(file: string, current: Awaited<ReturnType<typeof readMcpConfig>>, force: boolean): Promise<InitResult> {
  const entry = `the ${MCP_SERVER_NAME} MCP server`;
  if (!current) {
    await writeFileAtomic(file, `${JSON.stringify({ mcpServers: { [MCP_SERVER_NAME]: MCP_SERVER_ENTRY } }, null, 2)}\n`);
    return { target: MCP_CONFIG, action: 'wrote', entry };
  }
  const servers = current.data.mcpServers as Record<string, unknown> | undefined;
  const existed = servers !== undefined && Object.hasOwn(servers, MCP_SERVER_NAME);
  if (existed && !force) return { target: MCP_CONFIG, action: 'kept', entry };
  const indent = /\n([ \t]+)\S/.exec(current.text)?.[1] ?? '  ';
  const edits = modify(
    current.text,
    ['mcpServers', MCP_SERVER_NAME],
    { ...MCP_SERVER_ENTRY },
    {
      formattingOptions: { insertSpaces: !indent.startsWith('\t'), tabSize: indent.startsWith('\t') ? 1 : indent.length, eol: '\n' },
    },
  );
  await writeFileAtomic(file, applyEdits(current.text, edits));
  return { target: MCP_CONFIG, action: existed ? 'overwrote' : 'added', entry };
}

/**
 * Writes the slash command, the agent definition and the documented config, and registers the
 * MCP server in `.mcp.json`; never overwrites without `force`. An unreadable `.mcp.json` is
 * reported before anything is written.
 */
export async function initRepository(repoRoot: string, force: boolean): Promise<InitResult[]> {
  const mcpFile = path.join(repoRoot, MCP_CONFIG);
  const mcpConfig = await readMcpConfig(mcpFile);
  const results: InitResult[] = [];
  for (const { template, target } of INIT_FILES) {
    const destination = path.join(repoRoot, target);
    const existed = await pathExists(destination);
    if (existed && !force) {
      results.push({ target, action: 'kept' });
      continue;
    }
    await mkdir(path.dirname(destination), { recursive: true });
    await copyFile(path.join(TEMPLATES, template), destination);
    results.push({ target, action: existed ? 'overwrote' : 'wrote' });
  }
  results.push(await registerMcpServer(mcpFile, mcpConfig, force));
  await excludeStateDir(repoRoot);
  return results;
}
