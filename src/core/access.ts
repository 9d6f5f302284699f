import { AirlockError } from '../errors.js';

/**
 * Whether the server account can read a deployment, decided from mode bits alone, the way
 * the kernel decides it: the owner class applies when the account owns the file (even if
 * the group or other bits would allow more), else the group class when the file's group
 * is one of the account's groups, else the other class. root reads and searches
 * everything. POSIX ACLs are not consulted (airlock never sets any).
 *
 * Pure: the filesystem walk that feeds it is in serverAccess.ts.
 */

/** The account Package Manager runs as, as the kernel sees it. */
export interface Account {
  /** The name asked for (`--server-user`, or rstudio-pm), even when it does not exist here. */
  name: string;
  /** null: the account does not exist on this host; only the "other" bits are checked. */
  uid: number | null;
  gid: number | null;
  /** `user:group` as `--owner` takes it, to suggest in hints. */
  ownerSpec: string;
  /** Primary and supplementary groups. */
  groups: number[];
  /** Who was checked, in words, for reports: "rstudio-pm (uid 998, gid 998, groups 998)". */
  description: string;
}

export interface Inode {
  mode: number;
  uid: number;
  gid: number;
}

const READ = 0o4;
const WRITE = 0o2;
const SEARCH = 0o1;

/** setuid, setgid, sticky. */
const SET_ID_BITS = 0o7000;
const GROUP_OTHER_WRITE = 0o022;

/** The permission bits (r=4, w=2, x=1) the account gets on an inode. */
export function permissionsFor(inode: Inode, account: Account): number {
  if (account.uid === 0) return READ | WRITE | ((inode.mode & 0o111) !== 0 || isDirectoryMode(inode.mode) ? SEARCH : 0);
  if (account.uid !== null && inode.uid === account.uid) return (inode.mode >> 6) & 0o7;
  if (account.groups.includes(inode.gid)) return (inode.mode >> 3) & 0o7;
  return inode.mode & 0o7;
}

export function allows(inode: Inode, account: Account, wanted: number): boolean {
  return (permissionsFor(inode, account) & wanted) === wanted;
}

/** A directory whose entries the account can open (search) and list (read). */
export function canListDirectory(inode: Inode, account: Account): boolean {
  return allows(inode, account, READ | SEARCH);
}

export function canSearchDirectory(inode: Inode, account: Account): boolean {
  return allows(inode, account, SEARCH);
}

export function canReadFile(inode: Inode, account: Account): boolean {
  return allows(inode, account, READ);
}

/** Writable by someone other than its owner: anyone in the group, or anyone at all. */
export function writableByOthers(mode: number): boolean {
  return (mode & GROUP_OTHER_WRITE) !== 0;
}

export function hasSetIdBits(mode: number): boolean {
  return (mode & SET_ID_BITS) !== 0;
}

/** Modes airlock never leaves in a deployment: write for group or others, setuid, setgid, sticky. */
export function unsafeBits(mode: number): boolean {
  return writableByOthers(mode) || hasSetIdBits(mode);
}

/** The mode with write-for-group/others and setuid/setgid/sticky dropped: what airlock corrects to. */
export function safeMode(mode: number): number {
  return mode & 0o755;
}

function isDirectoryMode(mode: number): boolean {
  return (mode & 0o170000) === 0o040000;
}

/** `drwxr-x---`, as ls prints it. */
export function symbolicMode(mode: number): string {
  const type = isDirectoryMode(mode) ? 'd' : (mode & 0o170000) === 0o120000 ? 'l' : '-';
  const bit = (mask: number, char: string) => ((mode & mask) !== 0 ? char : '-');
  const exec = (xMask: number, sMask: number, set: string) => ((mode & sMask) !== 0 ? ((mode & xMask) !== 0 ? set : set.toUpperCase()) : bit(xMask, 'x'));
  return (
    type +
    bit(0o400, 'r') + bit(0o200, 'w') + exec(0o100, 0o4000, 's') +
    bit(0o040, 'r') + bit(0o020, 'w') + exec(0o010, 0o2000, 's') +
    bit(0o004, 'r') + bit(0o002, 'w') + exec(0o001, 0o1000, 't')
  );
}

// --- the account -------------------------------------------------------------------------

const DEFAULT_SERVER_USER = 'rstudio-pm';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** /etc/passwd and /etc/group as read on this host: the one parser of both. */
export interface AccountDatabase {
  users: PasswdEntry[];
  groups: GroupEntry[];
}

export function parseAccountDatabase(passwdText: string, groupText: string): AccountDatabase {
  const users: PasswdEntry[] = [];
  for (const line of passwdText.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name && uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)) users.push({ name, uid: Number(uid), gid: Number(gid) });
  }
  const groups: GroupEntry[] = [];
  for (const line of groupText.split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (name && gid !== undefined && /^\d+$/.test(gid)) groups.push({ name, gid: Number(gid), members: (members ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '') });
  }
  return { users, groups };
}

/** Who owns what airlock writes: `--owner user:group`. */
export interface Owner {
  uid: number;
  gid: number;
  spec: string;
}

/**
 * `--owner user:group` (names or numbers), as chown takes it. Names are looked up in
 * /etc/passwd and /etc/group, which on the air-gapped hosts we target are the source of
 * truth (no directory service can be assumed).
 */
export function resolveOwner(spec: string, db: AccountDatabase): Owner {
  const [user, group] = spec.split(':');
  if (!user || group === undefined || group === '') {
    throw new AirlockError('USAGE', `--owner ${spec} is not user:group`, { hint: 'write it as chown does, for example --owner rstudio-pm:rstudio-pm' });
  }
  const uid = /^\d+$/.test(user) ? Number(user) : db.users.find((u) => u.name === user)?.uid;
  if (uid === undefined) throw noSuch('user', user, '/etc/passwd');
  const gid = /^\d+$/.test(group) ? Number(group) : db.groups.find((g) => g.name === group)?.gid;
  if (gid === undefined) throw noSuch('group', group, '/etc/group');
  return { uid, gid, spec };
}

function noSuch(what: string, name: string, file: string): AirlockError {
  return new AirlockError('USAGE', `${what} ${name} does not exist on this host`, {
    where: file,
    hint: `create the ${what} first (Package Manager's installer creates rstudio-pm), or give a numeric id`,
  });
}

/**
 * The account to check, from `--server-user` (a name from /etc/passwd, or `UID[:GID]` for
 * an account that has no entry here) or, when not given, rstudio-pm. When rstudio-pm does
 * not exist either, the check is for "any other user": only the other bits count.
 */
export function resolveAccount(spec: string | undefined, db: AccountDatabase): Account {
  const passwd = db.users;
  const groups = db.groups;
  if (spec === undefined) {
    const entry = passwd.find((p) => p.name === DEFAULT_SERVER_USER);
    if (entry) return accountOf(entry.name, entry.uid, entry.gid, groups, '');
    return {
      name: DEFAULT_SERVER_USER,
      uid: null,
      gid: null,
      ownerSpec: `${DEFAULT_SERVER_USER}:${DEFAULT_SERVER_USER}`,
      groups: [],
      description: `any other user (${DEFAULT_SERVER_USER} does not exist here, so the bits for others were checked; name the server account with --server-user)`,
    };
  }
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) {
    const uid = Number(numeric[1]);
    const entry = passwd.find((p) => p.uid === uid);
    const gid = numeric[2] !== undefined ? Number(numeric[2]) : entry?.gid;
    if (gid === undefined) {
      throw new AirlockError('USAGE', `--server-user ${spec}: uid ${uid} has no entry in /etc/passwd, so its group is unknown`, {
        where: '/etc/passwd',
        hint: `give the group too, as --server-user ${uid}:GID`,
      });
    }
    return accountOf(entry?.name ?? spec, uid, gid, groups, entry ? '' : spec);
  }
  const entry = passwd.find((p) => p.name === spec);
  if (!entry) {
    throw new AirlockError('USAGE', `--server-user ${spec}: there is no such user in /etc/passwd`, {
      where: '/etc/passwd',
      hint: 'name the account Package Manager runs as (its installer creates rstudio-pm), or give its ids as --server-user UID:GID',
    });
  }
  return accountOf(entry.name, entry.uid, entry.gid, groups, '');
}

function accountOf(name: string, uid: number, gid: number, groups: GroupEntry[], label: string): Account {
  const all = [gid, ...groups.filter((g) => g.members.includes(name)).map((g) => g.gid)];
  const unique = [...new Set(all)];
  const who = label === '' ? name : `uid ${uid}`;
  const ownerSpec = label === '' ? `${name}:${groups.find((g) => g.gid === gid)?.name ?? gid}` : `${uid}:${gid}`;
  return { name, uid, gid, ownerSpec, groups: unique, description: `${who} (uid ${uid}, gid ${gid}${unique.length > 1 ? `, groups ${unique.join(',')}` : ''})` };
}

// --- findings ----------------------------------------------------------------------------

export type AccessProblemKind = 'path-not-searchable' | 'directory-unreadable' | 'file-unreadable' | 'writable-by-others' | 'set-id';

export interface AccessProblem {
  kind: AccessProblemKind;
  count: number;
  /** Up to EXAMPLES paths, each with its mode and owner: "/var/lib/x (drwx------ 0:0)". */
  examples: string[];
}

const EXAMPLES = 5;

/** Collects what the walk finds: counts, and a few examples of each kind. */
export class AccessFindings {
  private readonly byKind = new Map<AccessProblemKind, AccessProblem>();
  directories = 0;
  files = 0;

  add(kind: AccessProblemKind, path: string, inode: Inode): void {
    let problem = this.byKind.get(kind);
    if (!problem) {
      problem = { kind, count: 0, examples: [] };
      this.byKind.set(kind, problem);
    }
    problem.count++;
    if (problem.examples.length < EXAMPLES) problem.examples.push(`${path} (${symbolicMode(inode.mode)} ${inode.uid}:${inode.gid})`);
  }

  /** Judges one entry of the deployment. */
  checkEntry(path: string, inode: Inode, isDirectory: boolean, account: Account): void {
    if (isDirectory) {
      this.directories++;
      if (!canListDirectory(inode, account)) this.add('directory-unreadable', path, inode);
    } else {
      this.files++;
      if (!canReadFile(inode, account)) this.add('file-unreadable', path, inode);
    }
    if (writableByOthers(inode.mode)) this.add('writable-by-others', path, inode);
    if (hasSetIdBits(inode.mode)) this.add('set-id', path, inode);
  }

  /** Judges a directory the server must pass through to reach the deployment. */
  checkPathDirectory(path: string, inode: Inode, account: Account): void {
    if (!canSearchDirectory(inode, account)) this.add('path-not-searchable', path, inode);
  }

  problems(): AccessProblem[] {
    const order: AccessProblemKind[] = ['path-not-searchable', 'directory-unreadable', 'file-unreadable', 'writable-by-others', 'set-id'];
    return order.flatMap((k) => this.byKind.get(k) ?? []);
  }
}

/** One warning line per problem, each saying what to run; `dataDir` is the path the server reads. */
export function describeProblems(problems: AccessProblem[], account: Account, dataDir: string): string[] {
  const who = account.uid === null ? 'a user other than the owners' : account.description;
  const owner = account.ownerSpec;
  const some = (p: AccessProblem) => `${p.examples.join(', ')}${p.count > p.examples.length ? `, and ${p.count - p.examples.length} more` : ''}`;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const tree = `${dataDir}/`;
  return problems.map((p) => {
    switch (p.kind) {
      case 'path-not-searchable':
        return `${who} cannot reach the data: ${plural(p.count, 'directory', 'directories')} on the way to it ${p.count === 1 ? 'is' : 'are'} not searchable for it: ${some(p)}; fix: chmod o+x (or give the account's group g+x) on ${p.count === 1 ? 'it' : 'each'}`;
      case 'directory-unreadable':
        return `${who} cannot list ${plural(p.count, 'directory', 'directories')} of the deployment: ${some(p)}; fix: chmod -R a+rX ${tree}, or give the data to the account with \`airlock apply --owner ${owner}\` when applying`;
      case 'file-unreadable':
        return `${who} cannot read ${plural(p.count, 'file', 'files')} of the deployment: ${some(p)}; fix: chmod -R a+rX ${tree}, or give the data to the account with \`airlock apply --owner ${owner}\` when applying`;
      case 'writable-by-others':
        return `${plural(p.count, 'file or directory', 'files and directories')} of the deployment ${p.count === 1 ? 'is' : 'are'} writable by group or others, so another account could change what the server reads: ${some(p)}; fix: chmod -R go-w ${tree}`;
      case 'set-id':
        return `${plural(p.count, 'file or directory', 'files and directories')} of the deployment ${p.count === 1 ? 'has' : 'have'} setuid, setgid or sticky bits, which package data never needs: ${some(p)}; fix: chmod -R ug-s,-t ${tree}`;
    }
  });
}
