import ms from 'ms';

/**
 * Parses a duration as users write it: "90s", "20m", "2h", "1.5h", "500ms", or a plain number of
 * seconds. Returns milliseconds, or undefined when the value is not a positive duration.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return parseDuration(Number(trimmed));
  const parsed = ms(trimmed as ms.StringValue);
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed > 0 ? Math.round(parsed) : undefined;
}

/** A short human form of a duration in milliseconds: "850ms", "12.3s", "4m05s", "2h03m". */
export function formatDuration(milliseconds: number): string {
  const msAbs = Math.max(0, Math.round(milliseconds));
  if (msAbs < 1000) return `${msAbs}ms`;
  const seconds = msAbs / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const totalSeconds = Math.floor(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
