import * as fs from 'node:fs';
import { AirlockError } from '../errors.js';

export interface Owner {
  uid: number;
  gid: number;
  spec: string;
}

/**
 * `--owner user:group` (names or numbers), as chown takes it. Names are looked up in
 * /etc/passwd and /etc/group, which on the air-gapped hosts we target are the source
 * of truth (no directory service can be assumed).
 */
export function parseOwner(spec: string): Owner {
  const [user, group] = spec.split(':');
  if (!user || group === undefined || group === '') {
    throw new AirlockError('USAGE', `--owner ${spec} is not user:group`, { hint: 'write it as chown does, for example --owner rstudio-pm:rstudio-pm' });
  }
  const uid = /^\d+$/.test(user) ? Number(user) : lookup('/etc/passwd', user, 'user');
  const gid = /^\d+$/.test(group) ? Number(group) : lookup('/etc/group', group, 'group');
  return { uid, gid, spec };
}

function lookup(file: string, name: string, what: string): number {
  const line = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  const id = line?.split(':')[2];
  if (id === undefined || !/^\d+$/.test(id)) {
    throw new AirlockError('USAGE', `${what} ${name} does not exist on this host`, {
      where: file,
      hint: `create the ${what} first (Package Manager's installer creates rstudio-pm), or give a numeric id`,
    });
  }
  return Number(id);
}
