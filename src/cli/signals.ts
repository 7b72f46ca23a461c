/** What a signal handler may ask of a running orchestrator. */
export interface Interruptible {
  interrupt(): void;
  killNow(): void;
}

/**
 * Ctrl-C / SIGTERM: the first asks the orchestrator to stop its agents gracefully, the second
 * kills them at once. Agents run in their own process groups, so the terminal's SIGINT never
 * reaches them directly: orch must pass it on. A signal that arrives before the run exists is
 * applied as soon as it does.
 */
export function handleStopSignals(onBeforeStart: () => void): { attach(target: Interruptible): void; dispose(): void } {
  let target: Interruptible | undefined;
  let count = 0;
  const onSignal = (): void => {
    count += 1;
    if (!target) {
      if (count === 1) onBeforeStart();
      return;
    }
    if (count === 1) target.interrupt();
    else target.killNow();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    attach(next) {
      target = next;
      if (count >= 1) next.interrupt();
      if (count >= 2) next.killNow();
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
