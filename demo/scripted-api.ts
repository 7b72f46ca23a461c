import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted stand-in for the Anthropic Messages API, for running the real `claude` CLI offline
 * (tests and the demo). It answers `POST /v1/messages` with server-sent events the way the API
 * does. What the "model" does is decided by a script function, turn by turn: conversations are
 * told apart statelessly, by their first user prompt and how many assistant turns they hold.
 */

export interface ToolCall {
  name: string;
  input: Record<string, unknown>;
}

/** Extra response headers, e.g. the `anthropic-ratelimit-unified-*` ones a plan's usage limit sends. */
export type ReplyHeaders = Record<string, string>;

export type Reply = (
  { tool: ToolCall } | { text: string } | { error: { status: number; type: string; message: string; retryAfterSeconds?: number } }
) & { headers?: ReplyHeaders };

export interface Conversation {
  /** The user's prompt: the last text block of the first user turn. */
  prompt: string;
  /** Assistant turns so far in this conversation (0 for its first request). */
  step: number;
  /** The text of the latest tool result, if the last turn was one. */
  lastToolResult?: string;
  /** Every tool result so far, oldest first. */
  toolResults: string[];
  /** The agent's working directory, as the CLI describes it to the model. */
  cwd?: string;
  model: string;
  /** The names of the tools the request offers the model, schemas included (MCP tools as `mcp__<server>__<tool>`). */
  tools: string[];
  /**
   * Tools the CLI lists as deferred: named to the model, their schemas loaded on demand with
   * ToolSearch (`select:<name>,…`). The CLI defers MCP servers' tools this way.
   */
  deferredTools: string[];
}

export type Script = (conversation: Conversation) => Reply;

export interface RecordedRequest {
  path: string;
  model: string;
  step: number;
  promptStart: string;
  reply: 'tool' | 'text' | 'error';
}

export interface ScriptedApi {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block) =>
      isObject(block) && typeof block.text === 'string'
        ? block.text
        : isObject(block) && block.type === 'text'
          ? ''
          : textOf(isObject(block) ? block.content : ''),
    )
    .join('\n');
}

/** The tool names listed after the CLI's "deferred tools are now available via ToolSearch" line, one per line. */
function deferredTools(body: Json): string[] {
  const texts = [
    textOf(body.system),
    ...(Array.isArray(body.messages) ? body.messages.filter(isObject).map((message) => textOf(message.content)) : []),
  ];
  for (const text of texts) {
    const lines = text.split('\n');
    const start = lines.findIndex((line) => line.includes('deferred tools are now available via ToolSearch'));
    if (start < 0) continue;
    const names: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (!/^[\w-]+$/.test(line.trim())) break;
      names.push(line.trim());
    }
    return names;
  }
  return [];
}

function readConversation(body: Json): Conversation {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  const firstUser = messages.find((message) => message.role === 'user');
  const blocks = firstUser && Array.isArray(firstUser.content) ? firstUser.content.filter(isObject) : [];
  const textBlocks = blocks.filter((block) => block.type === 'text' && typeof block.text === 'string');
  const prompt =
    textBlocks.length > 0
      ? String(textBlocks[textBlocks.length - 1]!.text)
      : typeof firstUser?.content === 'string'
        ? firstUser.content
        : '';
  const step = messages.filter((message) => message.role === 'assistant').length;
  const toolResults = messages
    .filter((message) => message.role === 'user' && Array.isArray(message.content))
    .flatMap((message) => (message.content as unknown[]).filter((block): block is Json => isObject(block) && block.type === 'tool_result'))
    .map((block) => textOf(block.content));
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isObject) : []).map((tool) => String(tool.name));
  const conversation: Conversation = {
    prompt,
    step,
    toolResults,
    model: typeof body.model === 'string' ? body.model : 'unknown',
    tools,
    deferredTools: deferredTools(body),
  };
  // The CLI may end a request with a `system` turn of its own (a nudge): the model's last input is the turn before it.
  const last = messages.filter((message) => message.role !== 'system').at(-1);
  if (last?.role === 'user' && Array.isArray(last.content)) {
    const result: unknown = last.content.find((block) => isObject(block) && block.type === 'tool_result');
    if (isObject(result)) conversation.lastToolResult = textOf(result.content);
  }
  const everything = JSON.stringify(body);
  const cwd =
    /Primary working directory: ([^\\"\n]+)/.exec(everything)?.[1] ?? /Worktree \(your working directory\): ([^\\"\n]+)/.exec(prompt)?.[1];
  if (cwd) conversation.cwd = cwd.trim();
  return conversation;
}

function sendEvents(response: ServerResponse, events: Array<[string, Json]>, headers: ReplyHeaders = {}): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  for (const [type, data] of events) response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  response.end();
}

let counter = 0;

function answer(response: ServerResponse, body: Json, reply: Reply): void {
  if ('error' in reply) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...reply.headers };
    if (reply.error.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.error.retryAfterSeconds);
    response.writeHead(reply.error.status, headers);
    response.end(JSON.stringify({ type: 'error', error: { type: reply.error.type, message: reply.error.message } }));
    return;
  }
  counter += 1;
  const usage = { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const model = typeof body.model === 'string' ? body.model : 'claude-scripted';
  const block =
    'tool' in reply ? { type: 'tool_use', id: `toolu_scripted_${counter}`, name: reply.tool.name, input: {} } : { type: 'text', text: '' };
  const delta =
    'tool' in reply
      ? { type: 'input_json_delta', partial_json: JSON.stringify(reply.tool.input) }
      : { type: 'text_delta', text: reply.text };
  const stopReason = 'tool' in reply ? 'tool_use' : 'end_turn';
  if (body.stream !== true) {
    response.writeHead(200, { 'content-type': 'application/json', ...reply.headers });
    const content = 'tool' in reply ? [{ ...block, input: reply.tool.input }] : [{ type: 'text', text: reply.text }];
    response.end(
      JSON.stringify({
        id: `msg_scripted_${counter}`,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage,
      }),
    );
    return;
  }
  sendEvents(
    response,
    [
      [
        'message_start',
        {
          message: {
            id: `msg_scripted_${counter}`,
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage,
          },
        },
      ],
      ['content_block_start', { index: 0, content_block: block }],
      ['content_block_delta', { index: 0, delta }],
      ['content_block_stop', { index: 0 }],
      ['message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 20 } }],
      ['message_stop', {}],
    ],
    reply.headers,
  );
}

async function readBody(request: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

export async function startScriptedApi(script: Script): Promise<ScriptedApi> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const path = request.url ?? '/';
      if (request.method !== 'POST' || !path.startsWith('/v1/messages')) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no ${request.method} ${path} here` } }));
        return;
      }
      if (path.startsWith('/v1/messages/count_tokens')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ input_tokens: 100 }));
        return;
      }
      const conversation = readConversation(body);
      // Side requests (titles, summaries) carry no tools: a short text answers them.
      const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
      const reply: Reply = hasTools ? script(conversation) : { text: 'ok' };
      requests.push({
        path,
        model: conversation.model,
        step: conversation.step,
        promptStart: conversation.prompt.slice(0, 200),
        reply: 'tool' in reply ? 'tool' : 'text' in reply ? 'text' : 'error',
      });
      answer(response, body, reply);
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(error) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The environment that points the real `claude` CLI at a scripted API, fully offline. */
export function offlineClaudeEnv(apiUrl: string, configDir: string, tmpDir: string): NodeJS.ProcessEnv {
  return {
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_KEY: 'scripted-api-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CONFIG_DIR: configDir,
    TMPDIR: tmpDir,
    CLAUDE_CODE_MAX_RETRIES: '1',
    API_TIMEOUT_MS: '10000',
  };
}

/**
 * Claude Code's sandbox, with agents side by side in one repository, sometimes fails a command
 * with this (a placeholder file one sandbox made vanishes as another mounts it: bwrap says "Can't
 * find source path" or "Can't get type of source", depending on the moment it looks); orch's
 * prompt tells agents to run such a command again, and the scripted model does.
 */
export const SANDBOX_RACE = /bwrap: [^\n]*: No such file or directory/;

/** How many of the script's steps have been played: tool calls so far, less those that met the sandbox race. */
export function playedSteps(conversation: Conversation): number {
  return conversation.toolResults.filter((result) => !SANDBOX_RACE.test(result)).length;
}

/**
 * A script that plays a list of tool calls per task, then finishes with a text answer. The task
 * is recognized by its id in orch's WorkflowManager prompt ("id `<task>`"). A call that met the
 * sandbox race is played again.
 */
export function perTaskScript(plans: Record<string, (cwd: string) => ToolCall[]>, finalText = (task: string) => `Done: ${task}.`): Script {
  return (conversation) => {
    const task = /\(id `([^`]+)`/.exec(conversation.prompt)?.[1];
    const plan = task ? plans[task] : undefined;
    if (!task || !plan) return { text: 'I have no scripted work for this prompt.' };
    const calls = plan(conversation.cwd ?? '.');
    const call = calls[playedSteps(conversation)];
    return call ? { tool: call } : { text: finalText(task) };
  };
}
