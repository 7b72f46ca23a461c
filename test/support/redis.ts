import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Stops the server (SHUTDOWN: with persistence on, its data is saved) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder (its saved data comes back with persistence on). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real redis-server (Debian's package) on 127.0.0.1 and a free port, in its own temp folder.
 * Without `persistent` nothing is written to disk; with it, an append-only file synced on every
 * write, so a restart keeps the queue (as a production Redis behind BullMQ is configured).
 */
export async function startRedis(options: { persistent?: boolean; password?: string } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes'];
  args.push(...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  if (options.password) args.push('--requirepass', options.password);
  let child: ResultPromise | undefined;
  const auth = options.password ? ['-a', options.password, '--no-auth-warning'] : [];
  const cli = (...command: string[]) => execa('redis-cli', ['-p', String(port), ...auth, ...command], { reject: false, timeout: 5000 });
  const start = async (): Promise<void> => {
    // Started without the test's mark: the server belongs to the file, not to one test.
    const env = { ...process.env };
    delete env.ORCH_TEST_MARK;
    child = execa('redis-server', args, { cwd: dir, env, reject: false, stdio: 'ignore', extendEnv: false });
    for (let attempt = 0; attempt < 100; attempt++) {
      if ((await cli('ping')).stdout.trim() === 'PONG') return;
      await sleep(50);
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  const stop = async (): Promise<void> => {
    if (!child) return;
    await cli('shutdown');
    await child;
    child = undefined;
  };
  await start();
  const credentials = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `redis://${credentials}127.0.0.1:${port}`,
    dir,
    stop,
    restart: start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
