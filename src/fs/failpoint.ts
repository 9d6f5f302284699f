/**
 * Failpoints, in the manner of etcd's gofail: named places where the crash tests make
 * airlock kill itself with SIGKILL, so "killed at any moment" is tested at every step
 * boundary and not only at moments a timer happens to hit. Off unless the environment
 * variable AIRLOCK_FAILPOINT names a point (optionally `name:N` for its N-th hit).
 */
const spec = process.env.AIRLOCK_FAILPOINT ?? '';
const [wantedName, wantedHit] = spec.split(':');
const hitTarget = Number(wantedHit ?? '1') || 1;
let hits = 0;

export function failpoint(name: string): void {
  if (!spec || name !== wantedName) return;
  hits++;
  if (hits === hitTarget) process.kill(process.pid, 'SIGKILL');
}

/** Every failpoint in the code, so the crash test can prove it visits each one. */
export const FAILPOINTS = [
  'apply-staged-object',
  'apply-after-verify',
  'apply-committed-objects',
  'deploy-batch',
  'deploy-before-rename',
  'apply-before-switch',
  'switch-before-rename',
  'switch-after-rename',
  'adopt-between-renames',
] as const;

/** Failpoints outside apply, each with a crash test of its own. */
export const OTHER_FAILPOINTS = ['volumes-between-renames', 'bundle-mid-write'] as const;
