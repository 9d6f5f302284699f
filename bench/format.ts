/** Number formatting for the report. MB means 10^6 bytes throughout, as disk and network rates are quoted. */
export const MB = 1_000_000;

export function mb(bytes: number | null | undefined, digits = 1): string {
  return bytes === null || bytes === undefined ? 'n/a' : (bytes / MB).toFixed(digits);
}

export function rate(bytes: number | null | undefined, seconds: number | null | undefined): number | null {
  if (bytes === null || bytes === undefined || seconds === null || seconds === undefined || seconds <= 0) return null;
  return bytes / MB / seconds;
}

export function fixed(value: number | null | undefined, digits: number, suffix = ''): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(digits)}${suffix}`;
}

/** Left-aligns the first column and right-aligns the numeric ones; pads every column to its widest cell. */
export function table(header: string[], rows: string[][], leftColumns = new Set([0])): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (leftColumns.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
