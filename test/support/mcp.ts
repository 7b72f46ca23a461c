import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, expect } from 'vitest';
import { orchBin } from './orch.js';

const open: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

export interface McpSession {
  client: Client;
  /** Calls a tool and returns its result (an error result included: `isError`). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Calls a tool that must succeed, and returns its structured content. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** Calls a tool that must fail, and returns its one-line message. */
  fails(name: string, args?: Record<string, unknown>): Promise<string>;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  /** Errors of the transport: a line on the server's stdout that was not a JSON-RPC message lands here. */
  transportErrors: Error[];
  pid: number;
}

/** The built `orch mcp` in `cwd`, driven by the SDK's own client over stdio, as an MCP client would start it. */
export async function startMcp(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<McpSession> {
  const environment = Object.fromEntries(
    Object.entries({ ...process.env, FORCE_COLOR: '0', ...env }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const transport = new StdioClientTransport({ command: process.execPath, args: [orchBin, 'mcp'], cwd, env: environment, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const transportErrors: Error[] = [];
  transport.onerror = (error) => transportErrors.push(error);
  const client = new Client({ name: 'orch-test', version: '1.0.0' });
  await client.connect(transport);
  open.push(() => client.close());
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const textOf = (result: CallToolResult) =>
    result.content.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('\n');
  return {
    client,
    call,
    async ok<T>(name: string, args?: Record<string, unknown>) {
      const result = await call(name, args);
      expect(result.isError, `${name} failed: ${textOf(result)}`).toBeFalsy();
      // The text is the structured content as JSON, for clients that show only text to the model.
      expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);
      return result.structuredContent as T;
    },
    async fails(name: string, args?: Record<string, unknown>) {
      const result = await call(name, args);
      expect(result.isError, `${name} should have failed, returned ${textOf(result)}`).toBe(true);
      expect(result.structuredContent).toBeUndefined();
      return textOf(result);
    },
    stderr: () => stderr,
    transportErrors,
    pid: transport.pid ?? -1,
  };
}
