import { describe, expect, it } from 'vitest';
import {
  AccessFindings,
  canListDirectory,
  canReadFile,
  canSearchDirectory,
  describeProblems,
  hasSetIdBits,
  permissionsFor,
  parseAccountDatabase,
  resolveAccount,
  safeMode,
  symbolicMode,
  writableByOthers,
  type Account,
} from '../../src/core/access.js';

const DIR = 0o040000;
const FILE = 0o100000;

const passwd = ['root:x:0:0:root:/root:/bin/bash', 'rstudio-pm:x:998:997::/home/rstudio-pm:/bin/sh', 'rspm:x:1001:1001::/home/rspm:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', ''].join('\n');
const group = ['root:x:0:', 'rstudio-pm:x:997:', 'rspm:x:1001:', 'pkgdata:x:2000:rstudio-pm,alice', 'nogroup:x:65534:', ''].join('\n');

/** The account as status resolves it, from the text of /etc/passwd and /etc/group. */
const accountOf = (spec: string | undefined, passwdText: string, groupText: string) => resolveAccount(spec, parseAccountDatabase(passwdText, groupText));

const server = accountOf('rstudio-pm', passwd, group);
const anyone = accountOf(undefined, '', '');
const root = accountOf('root', passwd, group);

describe('the server account', () => {
  it('is looked up by name, with its primary and supplementary groups', () => {
    expect(server).toMatchObject({ name: 'rstudio-pm', uid: 998, gid: 997, groups: [997, 2000], ownerSpec: 'rstudio-pm:rstudio-pm' });
  });

  it('defaults to rstudio-pm when that account exists', () => {
    expect(accountOf(undefined, passwd, group)).toMatchObject({ name: 'rstudio-pm', uid: 998 });
  });

  it('is "any other user" when rstudio-pm does not exist and none was named, and says so', () => {
    expect(anyone).toMatchObject({ uid: null, gid: null, groups: [] });
    expect(anyone.description).toContain('rstudio-pm does not exist');
    expect(anyone.description).toContain('--server-user');
  });

  it('takes UID:GID for an account without an entry, and UID alone when /etc/passwd knows it', () => {
    expect(accountOf('12345:23456', passwd, group)).toMatchObject({ uid: 12345, gid: 23456, groups: [23456], ownerSpec: '12345:23456' });
    expect(accountOf('1001', passwd, group)).toMatchObject({ name: 'rspm', uid: 1001, gid: 1001 });
    expect(() => accountOf('12345', passwd, group)).toThrow(/group is unknown/);
  });

  it('refuses a name that does not exist, as a usage error', () => {
    expect(() => accountOf('rstudio', passwd, group)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe('the kernel rules', () => {
  const inode = (mode: number, uid = 0, gid = 0) => ({ mode, uid, gid });

  it('uses the owner bits for the owner, even when group or others would get more', () => {
    expect(canReadFile(inode(FILE | 0o044, 998, 997), server)).toBe(false);
    expect(canReadFile(inode(FILE | 0o400, 998, 0), server)).toBe(true);
  });

  it('uses the group bits for a member of the file group, primary or supplementary, and not the other bits then', () => {
    expect(canReadFile(inode(FILE | 0o440, 0, 997), server)).toBe(true);
    expect(canReadFile(inode(FILE | 0o440, 0, 2000), server)).toBe(true);
    expect(canReadFile(inode(FILE | 0o404, 0, 2000), server)).toBe(false);
    expect(canReadFile(inode(FILE | 0o440, 0, 0), server)).toBe(false);
  });

  it('uses the other bits for anyone else, and for "any other user"', () => {
    expect(canReadFile(inode(FILE | 0o444), server)).toBe(true);
    expect(canReadFile(inode(FILE | 0o440), server)).toBe(false);
    expect(canReadFile(inode(FILE | 0o444, 998, 997), anyone)).toBe(true);
    expect(canReadFile(inode(FILE | 0o640, 998, 997), anyone)).toBe(false);
  });

  it('needs r and x on directories of the deployment, x alone on the way to it', () => {
    expect(canListDirectory(inode(DIR | 0o755), server)).toBe(true);
    expect(canListDirectory(inode(DIR | 0o711), server)).toBe(false);
    expect(canListDirectory(inode(DIR | 0o744), server)).toBe(false);
    expect(canSearchDirectory(inode(DIR | 0o711), server)).toBe(true);
    expect(canSearchDirectory(inode(DIR | 0o700), server)).toBe(false);
    expect(canSearchDirectory(inode(DIR | 0o750, 0, 997), server)).toBe(true);
  });

  it('lets root read and search everything', () => {
    expect(canReadFile(inode(FILE | 0o000), root)).toBe(true);
    expect(canListDirectory(inode(DIR | 0o000), root)).toBe(true);
    expect(permissionsFor(inode(FILE | 0o644), root) & 1).toBe(0); // but not execute a file without any x bit
  });

  it('knows which modes are unsafe, and what they become', () => {
    expect(writableByOthers(0o644)).toBe(false);
    expect(writableByOthers(0o664)).toBe(true);
    expect(writableByOthers(0o646)).toBe(true);
    expect(hasSetIdBits(0o755)).toBe(false);
    for (const bits of [0o4000, 0o2000, 0o1000]) expect(hasSetIdBits(bits | 0o644)).toBe(true);
    expect(safeMode(0o6777)).toBe(0o755);
    expect(safeMode(0o666)).toBe(0o644);
    expect(safeMode(0o444)).toBe(0o444);
  });

  it('prints modes as ls does', () => {
    expect(symbolicMode(DIR | 0o755)).toBe('drwxr-xr-x');
    expect(symbolicMode(FILE | 0o4644)).toBe('-rwSr--r--');
    expect(symbolicMode(DIR | 0o3777)).toBe('drwxrwsrwt');
  });
});

describe('findings', () => {
  it('counts every problem, keeps five examples of each, and words a warning with a fix for each', () => {
    const findings = new AccessFindings();
    findings.checkPathDirectory('/srv', { mode: DIR | 0o700, uid: 0, gid: 0 }, server);
    findings.checkPathDirectory('/srv/ok', { mode: DIR | 0o711, uid: 0, gid: 0 }, server);
    for (let i = 0; i < 7; i++) findings.checkEntry(`/data/f${i}`, { mode: FILE | 0o600, uid: 0, gid: 0 }, false, server);
    findings.checkEntry('/data/d', { mode: DIR | 0o700, uid: 0, gid: 0 }, true, server);
    findings.checkEntry('/data/w', { mode: FILE | 0o666, uid: 0, gid: 0 }, false, server);
    findings.checkEntry('/data/s', { mode: FILE | 0o4755, uid: 0, gid: 0 }, false, server);
    findings.checkEntry('/data/fine', { mode: FILE | 0o444, uid: 0, gid: 0 }, false, server);
    const problems = findings.problems();
    expect(problems.map((p) => [p.kind, p.count])).toEqual([
      ['path-not-searchable', 1],
      ['directory-unreadable', 1],
      ['file-unreadable', 7],
      ['writable-by-others', 1],
      ['set-id', 1],
    ]);
    expect(findings.files).toBe(10);
    expect(findings.directories).toBe(1);
    const unreadable = problems.find((p) => p.kind === 'file-unreadable')!;
    expect(unreadable.examples).toHaveLength(5);
    expect(unreadable.examples[0]).toBe('/data/f0 (-rw------- 0:0)');

    const warnings = describeProblems(problems, server, '/data');
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toContain('/srv (drwx------ 0:0)');
    expect(warnings[0]).not.toContain('/srv/ok');
    expect(warnings[2]).toMatch(/^rstudio-pm \(uid 998.*cannot read 7 files .*and 2 more; fix: chmod -R a\+rX \/data\/, or .*airlock apply --owner rstudio-pm:rstudio-pm/);
    expect(warnings[3]).toContain('chmod -R go-w /data/');
    expect(warnings[4]).toContain('chmod -R ug-s,-t /data/');
  });

  it('finds nothing in a tree airlock built', () => {
    const findings = new AccessFindings();
    const account: Account = anyone;
    findings.checkPathDirectory('/', { mode: DIR | 0o755, uid: 0, gid: 0 }, account);
    findings.checkEntry('/data/', { mode: DIR | 0o755, uid: 0, gid: 0 }, true, account);
    findings.checkEntry('/data/PACKAGES', { mode: FILE | 0o444, uid: 0, gid: 0 }, false, account);
    findings.checkEntry('/data/run.sh', { mode: FILE | 0o555, uid: 12345, gid: 12345 }, false, account);
    expect(findings.problems()).toEqual([]);
  });
});
