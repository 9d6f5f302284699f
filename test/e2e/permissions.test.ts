import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airlockBin, airlockJson, airlockOk } from '../helpers/cli.js';
import { onlineScenario, readTree, type Scenario } from '../helpers/fixtures.js';
import { isRoot } from '../helpers/mounts.js';

/** An account that exists nowhere: numeric ids need no /etc/passwd entry. */
const OWNER = '12345:12345';
const OWNER_ID = 12345;

interface Entry {
  path: string;
  st: fs.Stats;
}

/** Every directory and file of the tree the data dir shows, the root included, by lstat. */
function deploymentEntries(dataDir: string): Entry[] {
  const root = fs.realpathSync(dataDir);
  const out: Entry[] = [{ path: '', st: fs.lstatSync(root) }];
  for (const d of fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[]) {
    const abs = join(d.parentPath, d.name);
    out.push({ path: abs.slice(root.length + 1), st: fs.lstatSync(abs) });
  }
  return out;
}

/** No entry writable by group or others, none setuid, setgid or sticky; files 0444 or 0555, directories 0755. */
function expectSafeModes(dataDir: string, atLeast = 10): void {
  const entries = deploymentEntries(dataDir);
  expect(entries.length).toBeGreaterThanOrEqual(atLeast);
  for (const { path, st } of entries) {
    const mode = st.mode & 0o7777;
    expect(mode & 0o022, `${path} (${mode.toString(8)}) must not be writable by group or others`).toBe(0);
    expect(mode & 0o7000, `${path} (${mode.toString(8)}) must not be setuid, setgid or sticky`).toBe(0);
    if (st.isDirectory()) expect(mode, path).toBe(0o755);
    else expect([0o444, 0o555], path).toContain(mode);
  }
}

function expectOwnedBy(dataDir: string, uid: number, gid: number): void {
  for (const { path, st } of deploymentEntries(dataDir)) expect([st.uid, st.gid], path || '(root)').toEqual([uid, gid]);
}

function requireRoot(): void {
  expect(isRoot, 'this test gives files to uid 12345 (chown), which only root may do; CI runs the tests as root').toBe(true);
}

/** The CLI under another umask, as a root shell with a hardened umask runs it. */
function airlockWithUmask(umask: string, args: string[]): void {
  const run = spawnSync('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, airlockBin, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`airlock ${args.join(' ')} under umask ${umask} exited ${run.status}:\n${run.stderr}`);
}

interface StatusJson {
  status: {
    warnings: string[];
    access: { account: { name: string; uid: number | null }; files: number; directories: number; path: string[]; problems: { kind: string; count: number; examples: string[] }[] };
  };
}

function status(dataDir: string, ...extra: string[]): StatusJson['status'] {
  return airlockJson<StatusJson>(['status', '--data-dir', dataDir, ...extra]).status;
}

describe('ownership and modes of deployments', () => {
  let s: Scenario;
  let full: string;
  let delta: string;
  let place = 0;

  /** A fresh data dir whose parents any account can search (temp dirs are made 0700). */
  function freshDataDir(): string {
    const parent = join(s.root, `host${++place}`);
    fs.mkdirSync(parent, { mode: 0o755 });
    return join(parent, 'rspm-offline-data');
  }

  beforeAll(async () => {
    s = await onlineScenario(2);
    fs.chmodSync(s.root, 0o755);
    full = join(s.media, 'full1.airlock');
    delta = join(s.media, 'delta12.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--output', full]);
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v2', '--starting-snapshot', 'v1', '--output', delta]);
  });

  it('apply --owner gives every directory and file of the deployment to that account, with safe modes, and status finds nothing', () => {
    requireRoot();
    const dataDir = freshDataDir();
    airlockOk(['apply', full, '--data-dir', dataDir, '--owner', OWNER]);
    expectOwnedBy(dataDir, OWNER_ID, OWNER_ID);
    expectSafeModes(dataDir);
    const checked = status(dataDir, '--server-user', OWNER);
    expect(checked.warnings).toEqual([]);
    expect(checked.access.account.uid).toBe(OWNER_ID);
    expect(checked.access.files).toBe(readTree(dataDir).size);
    // The way there: the parent of the symlink, the state dir and deployments/ are all checked.
    expect(checked.access.path).toEqual(expect.arrayContaining(['/', s.root, `${dataDir}.airlock`, `${dataDir}.airlock/deployments`]));
    // Modes alone already let any account read it.
    expect(status(dataDir, '--server-user', 'nobody').warnings).toEqual([]);

    airlockOk(['apply', delta, '--data-dir', dataDir, '--owner', OWNER]);
    expectOwnedBy(dataDir, OWNER_ID, OWNER_ID);
    expectSafeModes(dataDir);
    expect(status(dataDir, '--server-user', OWNER).warnings).toEqual([]);
  });

  it('rollback --owner to a kept deployment gives it that owner too, and drops unsafe bits someone added', () => {
    requireRoot();
    const dataDir = freshDataDir();
    airlockOk(['apply', full, '--data-dir', dataDir]);
    airlockOk(['apply', delta, '--data-dir', dataDir]);
    const kept = join(`${dataDir}.airlock`, 'deployments', s.ids.v1!);
    fs.chmodSync(join(kept, 'v3/src/contrib'), 0o2777);
    fs.chmodSync(join(kept, 'v3/src/contrib/PACKAGES'), 0o4666);
    airlockOk(['rollback', '--data-dir', dataDir, '--to', 'v1', '--owner', OWNER]);
    expect(fs.readlinkSync(dataDir)).toContain(s.ids.v1!);
    expectOwnedBy(dataDir, OWNER_ID, OWNER_ID);
    for (const { path, st } of deploymentEntries(dataDir)) expect(st.mode & 0o7022, path).toBe(0);
    expect(status(dataDir, '--server-user', OWNER).warnings).toEqual([]);
  });

  it('rollback that rebuilds a removed deployment builds it with safe modes', () => {
    const dataDir = freshDataDir();
    airlockOk(['apply', full, '--data-dir', dataDir]);
    airlockOk(['apply', delta, '--data-dir', dataDir]);
    fs.rmSync(join(`${dataDir}.airlock`, 'deployments', s.ids.v1!), { recursive: true });
    const out = airlockJson<{ rolledBack: { rebuilt: boolean } }>(['rollback', '--data-dir', dataDir, '--to', 'v1']);
    expect(out.rolledBack.rebuilt).toBe(true);
    expectSafeModes(dataDir);
    expect(status(dataDir).warnings).toEqual([]);
  });

  it('ignores a hardened umask and a setgid deployments/ directory: the server can read what apply made', () => {
    const dataDir = freshDataDir();
    fs.mkdirSync(join(`${dataDir}.airlock`, 'deployments'), { recursive: true, mode: 0o755 });
    fs.chmodSync(join(`${dataDir}.airlock`, 'deployments'), 0o2755);
    airlockWithUmask('077', ['apply', full, '--data-dir', dataDir]);
    expectSafeModes(dataDir);
    // The objects behind the hardlinks, and the state files, came out readable too.
    const object = fs.statSync(join(dataDir, 'v3/src/contrib/PACKAGES'));
    expect(object.mode & 0o777).toBe(0o444);
    expect(fs.statSync(join(`${dataDir}.airlock`, 'state.json')).mode & 0o777).toBe(0o644);
    expect(status(dataDir, '--server-user', 'nobody').warnings).toEqual([]);
  });

  it('status warns, with the paths, when the server could not read the data or others could change it', () => {
    const dataDir = freshDataDir();
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const secret = 'v3/src/contrib/PACKAGES';
    const closed = 'v3/src';
    const open = 'v3/src/contrib/PACKAGES.gz';
    const deployment = fs.realpathSync(dataDir);
    fs.chownSync(join(deployment, secret), 0, 0);
    fs.chmodSync(join(deployment, secret), 0o600);
    fs.chmodSync(join(deployment, closed), 0o700);
    fs.chmodSync(join(deployment, open), 0o666);
    fs.chmodSync(join(deployment, 'v3'), 0o2755);

    const checked = status(dataDir, '--server-user', 'nobody');
    const kinds = Object.fromEntries(checked.access.problems.map((p) => [p.kind, p]));
    expect(Object.keys(kinds).sort()).toEqual(['directory-unreadable', 'file-unreadable', 'set-id', 'writable-by-others']);
    expect(kinds['file-unreadable']!.examples).toEqual([`${dataDir}/${secret} (-rw------- 0:0)`]);
    expect(kinds['directory-unreadable']!.examples).toEqual([`${dataDir}/${closed} (drwx------ 0:0)`]);
    expect(kinds['writable-by-others']!.examples).toEqual([`${dataDir}/${open} (-rw-rw-rw- 0:0)`]);
    expect(kinds['set-id']!.examples).toEqual([`${dataDir}/v3 (drwxr-sr-x 0:0)`]);
    expect(checked.warnings).toHaveLength(4);
    expect(checked.warnings.join('\n')).toContain(`chmod -R a+rX ${dataDir}/`);
    expect(checked.warnings.join('\n')).toContain('apply --owner nobody:nogroup');

    // The text form prints the same as `warning:` lines, and status still succeeds.
    const text = airlockOk(['status', '--data-dir', dataDir, '--server-user', 'nobody']).stdout;
    const lines = text.split('\n').filter((l) => l.startsWith('warning: '));
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).toContain(`${dataDir}/${secret}`);

    // The owner of the unreadable file can read it; status is read-only and changed nothing.
    expect(status(dataDir, '--server-user', '0:0').warnings.length).toBe(2); // root reads anything; the unsafe bits remain
    expect(fs.statSync(join(deployment, secret)).mode & 0o7777).toBe(0o600);
    expect(fs.statSync(join(deployment, closed)).mode & 0o7777).toBe(0o700);
  });

  it('status warns when a directory on the way to the data is not searchable, and names the account it assumed', () => {
    const dataDir = freshDataDir();
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const parent = join(dataDir, '..');
    fs.chmodSync(parent, 0o700);
    try {
      const checked = status(dataDir, '--server-user', 'nobody');
      expect(checked.access.problems.map((p) => p.kind)).toEqual(['path-not-searchable']);
      expect(checked.warnings[0]).toContain(`${parent} (drwx------ 0:0)`);
      // Without --server-user: rstudio-pm if this host has it, else any other user, said in the report.
      const assumed = status(dataDir);
      expect(assumed.access.account.name).toBe('rstudio-pm');
      if (assumed.access.account.uid === null) expect(assumed.warnings[0]).toMatch(/^a user other than the owners cannot reach the data/);
      else expect(assumed.warnings[0]).toMatch(/^rstudio-pm \(uid \d+.*cannot reach the data/);
    } finally {
      fs.chmodSync(parent, 0o755);
    }
  });

  it('status warns when others could replace the data dir\'s symlink (its directory writable, not sticky), and not when sticky', () => {
    const dataDir = freshDataDir();
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const parent = join(dataDir, '..');
    try {
      fs.chmodSync(parent, 0o777);
      const open = status(dataDir, '--server-user', 'nobody');
      expect(open.access.problems.map((p) => p.kind)).toEqual(['writable-by-others']);
      expect(open.warnings.join('\n')).toContain(parent);
      fs.chmodSync(parent, 0o1777); // as /tmp: only the owner of the link can replace it
      expect(status(dataDir, '--server-user', 'nobody').warnings).toEqual([]);
    } finally {
      fs.chmodSync(parent, 0o755);
    }
  });

  it('status refuses a --server-user that does not exist', () => {
    const dataDir = freshDataDir();
    airlockOk(['apply', full, '--data-dir', dataDir]);
    const out = spawnSync(process.execPath, [airlockBin, 'status', '--data-dir', dataDir, '--server-user', 'no-such-account-here'], { encoding: 'utf8' });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--server-user no-such-account-here');
  });

  it('adopt of a careless hand copy normalises modes, says so, and --owner gives the deployment to the account', () => {
    requireRoot();
    const dataDir = freshDataDir();
    const v1 = readTree(fs.realpathSync((() => {
      const scratch = freshDataDir();
      airlockOk(['apply', full, '--data-dir', scratch]);
      return scratch;
    })()));
    // A copy made carelessly: some files writable by all, one setuid, one setgid, directories 0777 and setgid.
    const paths = [...v1.keys()].sort();
    for (const [path, bytes] of v1) {
      fs.mkdirSync(join(dataDir, path, '..'), { recursive: true, mode: 0o777 });
      fs.writeFileSync(join(dataDir, path), bytes);
    }
    const modes: Record<string, number> = { [paths[0]!]: 0o666, [paths[1]!]: 0o4644, [paths[2]!]: 0o2644, [paths[3]!]: 0o646 };
    for (const [path, mode] of Object.entries(modes)) fs.chmodSync(join(dataDir, path), mode);
    fs.chmodSync(join(dataDir, 'v3'), 0o2777);
    fs.chownSync(join(dataDir, paths[4]!), 4242, 4242);

    const out = airlockJson<{ adopted: { snapshot: { id: string }; modesNormalised: { count: number; examples: string[] }; executable: { count: number } } }>([
      'adopt', '--data-dir', dataDir, '--owner', OWNER,
    ]);
    expect(out.adopted.snapshot.id).toBe(s.ids.v1);
    expect(out.adopted.modesNormalised.count).toBe(4);
    expect(out.adopted.modesNormalised.examples.sort()).toEqual(Object.keys(modes).sort());
    expect(out.adopted.executable.count).toBe(0);
    expectOwnedBy(dataDir, OWNER_ID, OWNER_ID);
    expectSafeModes(dataDir);
    expect(status(dataDir, '--server-user', OWNER).warnings).toEqual([]);
  });

  it('adopt says in its text output which modes it normalised, and keeps executables executable but not writable', () => {
    const dataDir = freshDataDir();
    fs.mkdirSync(join(dataDir, 'bin'), { recursive: true });
    fs.writeFileSync(join(dataDir, 'bin', 'tool'), '#!/bin/sh\n');
    fs.chmodSync(join(dataDir, 'bin', 'tool'), 0o777);
    fs.writeFileSync(join(dataDir, 'README'), 'hello\n');
    fs.chmodSync(join(dataDir, 'README'), 0o4644);
    const run = airlockOk(['adopt', '--data-dir', dataDir]);
    expect(run.stdout).toContain('modes normalised: 2 files');
    expect(run.stdout).toContain('bin/tool');
    expect(run.stderr).toContain('1 file of the hand copy is executable (bin/tool)');
    expect(fs.statSync(join(dataDir, 'bin', 'tool')).mode & 0o7777).toBe(0o555);
    expect(fs.statSync(join(dataDir, 'README')).mode & 0o7777).toBe(0o444);
    expectSafeModes(dataDir, 4);
  });
});
