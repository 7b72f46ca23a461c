import { describe, expect, it } from 'vitest';
import { ExitError, execFile } from '../../src/process/exec-file.js';

describe('execFile', () => {
  it('collects what a program prints, with its exit code', async () => {
    const run = await execFile('sh', ['-c', 'printf out; printf err >&2; exit 3'], { reject: false });
    expect(run).toEqual({ exitCode: 3, signal: null, stdout: 'out', stderr: 'err' });
  });

  it('rejects a non-zero exit with what the program said, unless told not to', async () => {
    const failure = await execFile('sh', ['-c', 'echo "fatal: nope" >&2; exit 1']).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ExitError);
    expect(failure).toMatchObject({ exitCode: 1, stderr: 'fatal: nope\n' });
  });

  it('gives the program no stdin, and runs it in cwd with env', async () => {
    const run = await execFile('sh', ['-c', 'cat; pwd; echo "$ORCH_X"'], { cwd: '/', env: { ...process.env, ORCH_X: 'x' } });
    expect(run.stdout).toBe('/\nx\n');
  });

  it('rejects with the system error when the program cannot start', async () => {
    await expect(execFile('orch-no-such-program', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('kills a program past its time', async () => {
    const run = await execFile('sleep', ['30'], { reject: false, timeoutMs: 100 });
    expect(run).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });
});
