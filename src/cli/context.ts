/** Where a command reads and writes; the CLI passes the real process, tests may pass their own. */
export interface CommandIO {
  cwd: string;
  /** Writes a line (or block) to stdout. */
  out: (text: string) => void;
  /** Writes a line to stderr. */
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface CommandContext extends CommandIO {
  /** The command line after `orch` itself (a detached run is started again with it). */
  argv: readonly string[];
  /** Every command ends by setting the process exit code (0, 1, 2, 124 or 130). */
  setExitCode: (code: number) => void;
}
