import { open, type FileHandle } from 'node:fs/promises';
import { errorCode } from '../errors.js';

/**
 * Follows a file another process appends to (an agent's stdout), line by line, by polling.
 * Polling is deliberate: it works for files whose writer orch did not start (adopted agents) and
 * on every filesystem, where fs.watch does not.
 */
export class LineFollower {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  /** When the file last grew (ms since epoch): the inactivity timeout reads this. */
  lastGrowthAt: number;

  constructor(
    private readonly file: string,
    private readonly onLine: (line: string) => void,
    now: number = Date.now(),
  ) {
    this.lastGrowthAt = now;
  }

  start(intervalMs = 250): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  /** Stops polling after reading what is left; a final partial line is delivered too. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A read already under way may have met the end of the file before the writer's last lines
    // (its result): let it finish, then read once more from where it stopped.
    await this.reading;
    await this.poll();
    if (this.partial.trim()) this.onLine(this.partial);
    this.partial = '';
  }

  /** Reads whatever was appended since the last read. */
  poll(): Promise<void> {
    this.reading ??= this.readNew().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readNew(): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.file, 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.lastGrowthAt = Date.now();
        this.partial += buffer.toString('utf8', 0, bytesRead);
        const lines = this.partial.split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.onLine(line);
      }
    } finally {
      await handle.close();
    }
  }
}
