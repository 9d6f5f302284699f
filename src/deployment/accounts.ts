import * as fs from 'node:fs';
import { errnoCode } from '../errors.js';
import { parseAccountDatabase, resolveAccount, resolveOwner, type Account, type AccountDatabase, type Owner } from '../core/access.js';

export type { Owner } from '../core/access.js';

/** /etc/passwd and /etc/group, read here (no directory service is assumed on an air-gapped host); a missing file is empty. */
export function readAccountDatabase(passwdPath = '/etc/passwd', groupPath = '/etc/group'): AccountDatabase {
  return parseAccountDatabase(readIfExists(passwdPath), readIfExists(groupPath));
}

/** `--owner user:group`, looked up on this host. */
export function parseOwner(spec: string): Owner {
  return resolveOwner(spec, readAccountDatabase());
}

/** The server account `status` checks (`--server-user`, else rstudio-pm). */
export function loadAccount(spec: string | undefined, passwdPath = '/etc/passwd', groupPath = '/etc/group'): Account {
  return resolveAccount(spec, readAccountDatabase(passwdPath, groupPath));
}

function readIfExists(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return '';
    throw err;
  }
}
