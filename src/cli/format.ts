/** Human-readable numbers for terminal output. */
export { formatBytes } from '../core/units.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  // Rounded once, to whole seconds (or minutes), before it is split: 119.6 s is 2m00s, never 1m60s.
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function short(id: string | null | undefined): string {
  return id ? id.slice(0, 12) : '-';
}
