import { errnoCode } from '../errors.js';

/**
 * Errors from link(2) that mean "this filesystem, or this inode, cannot take a
 * hardlink here" (FAT/exFAT, another filesystem, the link-count limit): callers switch
 * method (copy, or create in place) instead of failing, as pnpm's auto-importer does.
 */
const CANNOT_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export function cannotLink(err: unknown): boolean {
  return CANNOT_LINK.has(errnoCode(err) ?? '');
}
