/** Every exit code orch uses, in one place (the README's tables list the same). */
export const EXIT = {
  /** Every task succeeded (or the command did what it was asked). */
  ok: 0,
  /** A task failed or was skipped; an internal error. */
  failed: 1,
  /** Bad input or an unusable environment: nothing was done. */
  usage: 2,
  /**
   * The run stopped before its end on purpose and `orch resume` continues it: a plan's usage limit
   * resets later than `--max-wait`, or the run's budget (`--max-cost`) was reached. EX_TEMPFAIL.
   */
  paused: 75,
  /** `orch wait --timeout` passed before the run ended (as timeout(1) does). */
  waitTimeout: 124,
  /** Interrupted (Ctrl-C, SIGTERM). */
  interrupted: 130,
} as const;
