import * as fsp from 'node:fs/promises';
import { AirlockError, explainSystemError } from '../errors.js';
import { parseWantedFile, type Want, type WantedFile } from '../core/wantedPackages.js';

/** A package list, lockfile or DESCRIPTION is small; anything past this is not one. */
const MAX_WANTED_FILE_BYTES = 16 * 1024 * 1024;

export interface Wanted {
  wants: Want[];
  /** Per file: what it was taken for and how many packages it names. */
  files: { path: string; kind: WantedFile['kind']; packages: number }[];
  notes: string[];
}

/** Reads every `--file-in`, before anything is fetched: a wrong file fails in a second. */
export async function readWanted(paths: readonly string[], suggests: boolean): Promise<Wanted> {
  const wanted: Wanted = { wants: [], files: [], notes: [] };
  for (const path of paths) {
    let text: string;
    try {
      const stat = await fsp.stat(path);
      if (!stat.isFile()) throw new AirlockError('USAGE', `--file-in ${path} is not a file`, { where: path, hint: 'give a package list, an renv.lock or a DESCRIPTION file' });
      if (stat.size > MAX_WANTED_FILE_BYTES) throw new AirlockError('USAGE', `--file-in ${path} is ${stat.size} bytes, too large for a package list`, { where: path, hint: 'give a package list, an renv.lock or a DESCRIPTION file' });
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      if (err instanceof AirlockError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new AirlockError('USAGE', `--file-in ${path} does not exist`, { where: path, hint: 'check the path' });
      explainSystemError(err, 'reading --file-in', path);
    }
    const file = parseWantedFile(text, path, { suggests });
    wanted.wants.push(...file.wants);
    wanted.files.push({ path, kind: file.kind, packages: file.wants.length });
    wanted.notes.push(...file.notes);
  }
  return wanted;
}
