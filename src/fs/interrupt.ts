/**
 * Ctrl-C and SIGTERM, handled the same way everywhere: what a command holds registers here
 * (its lock, its temp files, a checkpoint of work already durable), and on the signal each is
 * run, newest first, before the process exits with 128 + the signal's number (130, 143).
 * Work under way simply stops: nothing it wrote is renamed into place, so the live data is as
 * before, and the next run goes on from the checkpoint.
 */
type Cleanup = () => Promise<string | void> | string | void;

const cleanups: Cleanup[] = [];
let installed = false;
let stopping = false;

/** Registers `cleanup` for an interrupt; the returned function unregisters it (when its work is done). */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.push(cleanup);
  return () => {
    const at = cleanups.lastIndexOf(cleanup);
    if (at >= 0) cleanups.splice(at, 1);
  };
}

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/** Installed once per process by the CLI; `report` prints the one line that says what was kept. */
export function handleInterrupts(report: (signal: string, kept: string[]) => void): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return; // a second Ctrl-C while cleaning up: the cleanup is already running
      stopping = true;
      void runCleanups().then((kept) => {
        report(signal, kept);
        process.exit(SIGNAL_EXIT[signal]);
      });
    });
  }
}

async function runCleanups(): Promise<string[]> {
  const kept: string[] = [];
  for (const cleanup of [...cleanups].reverse()) {
    try {
      const note = await cleanup();
      if (note) kept.push(note);
    } catch {
      // Best effort: the next run recovers whatever a cleanup could not finish.
    }
  }
  return kept;
}
