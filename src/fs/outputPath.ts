import * as fs from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AirlockError } from '../errors.js';

/**
 * The directory an output file goes into must exist and be a directory. Checked before any
 * work starts (a download of hours, a bundle of 100 GB), so a mistyped path or an unmounted
 * drive fails in a second, with the path, instead of at the end.
 */
export function assertOutputDirectory(output: string, flag = '--output'): void {
  const dir = dirname(resolve(output));
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) return;
  throw new AirlockError('USAGE', `the directory of ${flag}, ${dir}, ${st ? 'is not a directory' : 'does not exist'}`, {
    where: output,
    hint: `mount the drive, or create the directory first (mkdir -p ${dir})`,
  });
}
