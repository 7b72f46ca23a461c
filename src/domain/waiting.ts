/**
 * Why a pending task is not running now, as data: the engine works it out (see
 * scheduler/waiting.ts), the registry keeps it on the task, renderers turn it into words.
 */
export type WaitReason =
  /** Dependencies that have not succeeded yet. */
  | { kind: 'dependency'; on: string[] }
  /** A failed attempt's retry backoff, until `at`. */
  | { kind: 'retry'; at: string }
  /** A running task touches the same files. */
  | { kind: 'conflict'; with: string; files: string[] }
  /** As many agents run as the concurrency limit allows (`reason` says what set it). */
  | { kind: 'limit'; limit: number; reason: string }
  /** New starts are paused by API pressure (429/529) until `until`. */
  | { kind: 'api-pause'; until: string }
  /** A plan's usage limit: new starts wait for its reset; `stopped` when it is beyond --max-wait and the run stops. */
  | { kind: 'usage-limit'; until: string; limitType?: string | undefined; stopped: boolean }
  /** The run's budget is spent: nothing new starts. */
  | { kind: 'budget'; maxCostUsd: number; costUsd: number }
  /** The run is stopping (Ctrl-C, an abort): nothing new starts. */
  | { kind: 'stopping' }
  /** Nothing holds it back: it starts at the next scheduling pass. */
  | { kind: 'ready' };

export type WaitKind = WaitReason['kind'];
