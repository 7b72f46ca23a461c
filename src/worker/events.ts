import type { AttemptOutcome } from '../domain/vocabulary.js';
import type { Leftover } from './leftovers.js';

/** What `orch worker` reports; the CLI renders it (one line each), nothing in the worker prints. */
export type WorkerEvent =
  | { type: 'ready'; id: string; name: string; workdir: string; slots: number; allow: string[]; redis: string; sandbox: string }
  | { type: 'leftover'; leftover: Leftover }
  | { type: 'serving'; remote: string; queue: string }
  | { type: 'probe-failed'; remote: string; message: string }
  | { type: 'job-started'; jobId: string; runId: string; taskId: string; attempt: number; coordinator: string }
  | {
      type: 'job-finished';
      jobId: string;
      taskId: string;
      status: AttemptOutcome;
      reason?: string | undefined;
      pushed?: string | undefined;
    }
  /** A job this worker will not run (invalid, of another version, of a remote it does not allow): failed for good. */
  | { type: 'job-refused'; jobId: string; reason: string }
  /** The worker is stopping: the job goes back to the queue for another worker, its work so far pushed. */
  | { type: 'job-returned'; jobId: string; taskId: string }
  /** The job's lock expired (Redis unreachable too long): another worker runs it now; this one's work is kept aside. */
  | { type: 'job-lost'; jobId: string; taskId: string }
  | { type: 'slots'; slots: number }
  /** A clone's git lock taken over from a holder that is gone (or lost to another process): one line. */
  | { type: 'lock'; message: string }
  | { type: 'redis-error'; message: string }
  | { type: 'stopping'; running: number }
  | { type: 'stopped' };
