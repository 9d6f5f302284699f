import { execFile } from 'node:child_process';

/** R itself as the client in tests: Rscript with a clean library path, R literals, R's marked output. */
/** Runs an R expression with Rscript; fails with R's output when R fails. */
export function rscript(code: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('Rscript', ['--vanilla', '-e', code], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, R_LIBS_USER: '', ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`Rscript failed (${err.message}):\n${stderr}\n${stdout}`));
      else resolve(stdout);
    });
  });
}

/** An R string literal. */
export function rString(text: string): string {
  return JSON.stringify(text);
}

/** The lines R printed after a marker: `cat("X", ...)` lines, marker removed. */
export function marked(out: string, marker: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith(`${marker} `))
    .map((l) => l.slice(marker.length + 1));
}
