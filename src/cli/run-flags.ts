import type { FlagOverride } from '../config/load.js';

/** Options shared by `orch run` and `orch resume` that override config keys. */
export interface RunFlagOptions {
  base?: string;
  maxParallel?: string;
  retries?: string;
  timeout?: string;
  model?: string;
  maxTurns?: string;
  permissionMode?: string;
  worktreeRoot?: string;
  fallback?: boolean;
  maxWait?: string;
  maxCost?: string;
  workers?: string;
  remote?: string;
}

/** Numbers arrive as text; anything else is passed on as written so validation can name the flag. */
function numeric(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  return /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}

export function flagOverrides(options: RunFlagOptions): FlagOverride[] {
  const overrides: FlagOverride[] = [
    { key: 'base', value: options.base, flag: '--base' },
    { key: 'maxParallel', value: options.maxParallel === 'auto' ? 'auto' : numeric(options.maxParallel), flag: '--max-parallel' },
    { key: 'retries.count', value: numeric(options.retries), flag: '--retries' },
    { key: 'timeouts.task', value: options.timeout, flag: '--timeout' },
    { key: 'agent.model', value: options.model, flag: '--model' },
    { key: 'agent.maxTurns', value: numeric(options.maxTurns), flag: '--max-turns' },
    { key: 'agent.permissionMode', value: options.permissionMode, flag: '--permission-mode' },
    { key: 'worktree.root', value: options.worktreeRoot, flag: '--worktree-root' },
    { key: 'fallback.enabled', value: options.fallback === false ? false : undefined, flag: '--no-fallback' },
    { key: 'api.maxWait', value: options.maxWait, flag: '--max-wait' },
    { key: 'budget.maxCostUsd', value: numeric(options.maxCost?.replace(/^\$/, '')), flag: '--max-cost' },
    { key: 'workers.url', value: options.workers, flag: '--workers' },
    { key: 'workers.remote', value: options.remote, flag: '--remote' },
  ];
  return overrides.filter((override) => override.value !== undefined);
}
