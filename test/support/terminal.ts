import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'vitest';
import { orchBin } from './orch.js';
import { tempDir } from './tmp.js';

const servers: string[] = [];

afterEach(async () => {
  for (const socket of servers.splice(0)) {
    const { stdout } = await execa('tmux', ['-S', socket, 'display-message', '-p', '#{pid} #{pane_pid}'], { reject: false });
    await execa('tmux', ['-S', socket, 'kill-server'], { reject: false });
    // The server and the pane's shell must be gone before the test's processes are checked.
    for (const pid of stdout
      .split(' ')
      .map(Number)
      .filter((pid) => pid > 0)) {
      for (let tries = 0; tries < 50 && alive(pid); tries++) await new Promise((resolve) => setTimeout(resolve, 100));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Single-quoted for sh. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

export interface Terminal {
  /** The screen as it shows now (lines, trailing blanks dropped). */
  screen(): Promise<string[]>;
  /** Everything the terminal printed, its scrollback included. */
  history(): Promise<string[]>;
}

/**
 * Runs the built orch in a real pseudo-terminal of the given size: a tmux session on a private
 * server (killed after the test), the command's environment set explicitly.
 */
export async function orchInTerminal(
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; columns: number; rows: number },
): Promise<Terminal> {
  const dir = await tempDir('orch-tty-');
  const socket = path.join(dir, 'tmux.sock');
  const script = path.join(dir, 'run.sh');
  const exports = Object.entries({ ...options.env, ORCH_TEST_MARK: process.env.ORCH_TEST_MARK ?? '' })
    .map(([key, value]) => `export ${key}=${quote(value ?? '')}`)
    .join('\n');
  const command = [process.execPath, orchBin, ...args].map(quote).join(' ');
  // The shell stays after orch exits, so the screen can still be read.
  await writeFile(script, `${exports}\ncd ${quote(options.cwd)}\n${command}\necho "[orch exited $?]"\nexec sleep 600\n`);
  servers.push(socket);
  await execa(
    'tmux',
    [
      '-S',
      socket,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-x',
      String(options.columns),
      '-y',
      String(options.rows),
      `sh ${quote(script)}`,
    ],
    {
      env: { ...process.env, TERM: 'xterm-256color' },
    },
  );
  await execa('tmux', ['-S', socket, 'set-option', '-g', 'history-limit', '5000']);
  const capture = async (extra: string[]): Promise<string[]> => {
    const { stdout } = await execa('tmux', ['-S', socket, 'capture-pane', '-p', ...extra]);
    const lines = stdout.split('\n');
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    return lines;
  };
  return { screen: () => capture([]), history: () => capture(['-S', '-']) };
}
