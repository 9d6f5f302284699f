import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Which airlock is being measured, so numbers can be tied to code: the git commit of
 * its checkout, how many files under src/ differ from it, and a fingerprint of the
 * compiled dist/src (a hash of its .js files). A fingerprint that changes during
 * the run means someone rebuilt airlock mid-bench and the numbers mix two versions.
 */
export interface BuildIdentity {
  bin: string;
  commit: string | null;
  uncommittedSrcFiles: number | null;
  distFingerprint: string;
}

export function identifyBuild(bin: string): BuildIdentity {
  const root = dirname(dirname(bin));
  const git = (args: string[]) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  const commit = head.status === 0 ? head.stdout.trim() : null;
  const status = commit === null ? null : git(['status', '--porcelain', '--', 'src']);
  const uncommittedSrcFiles = status && status.status === 0 ? status.stdout.split('\n').filter((l) => l.trim() !== '').length : null;
  return { bin, commit, uncommittedSrcFiles, distFingerprint: distFingerprint(join(root, 'dist', 'src')) };
}

/** By content, not mtime: a rebuild of unchanged sources (other sessions run tsc too) is not a change. */
function distFingerprint(dir: string): string {
  if (!fs.existsSync(dir)) return 'no dist/src (not built?)';
  const paths = fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.js'))
    .map((d) => join(d.parentPath, d.name))
    .sort();
  const hash = createHash('sha256');
  for (const path of paths) hash.update(path).update(fs.readFileSync(path));
  return `${paths.length} .js files, sha256 ${hash.digest('hex').slice(0, 12)}`;
}

export function describeBuild(b: BuildIdentity): string {
  const code = b.commit === null ? 'not a git checkout' : `git ${b.commit}${b.uncommittedSrcFiles ? ` + ${b.uncommittedSrcFiles} uncommitted files in src/` : ', src/ clean'}`;
  return `${b.bin} (${code}; dist: ${b.distFingerprint})`;
}
