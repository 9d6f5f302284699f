/**
 * When a directory's listing read earlier still stands, judged from a `stat` of the directory
 * instead of reading it again (serve lists the kept deployments for every request).
 *
 * A change to a directory's entries sets its ctime, but only to the filesystem's clock tick
 * (milliseconds on most Linux filesystems), so two changes within one tick can leave the same
 * stamp: a listing read between them would be taken for the second state. So a listing is
 * trusted only when the directory's last change came at least SETTLE_MS before the listing
 * was read; any later change then falls in a later tick and shows in the stamp. A listing read
 * sooner is read again on every call until one is read a second after the change. A second
 * covers timestamps as coarse as whole seconds (ext4 with small inodes), not vfat's two (a data
 * dir cannot live there: it has no hardlinks). What it cannot cover is a clock stepped back
 * onto the very tick of the last change, or a file server whose clock lags this host's by
 * more than a second while two changes land within one of its ticks (or whose attributes this
 * host caches).
 */
export const SETTLE_MS = 1000;

/** What a `stat` of the directory gives. */
export interface DirectoryStamp {
  ino: number;
  ctimeMs: number;
  mtimeMs: number;
  nlink: number;
  size: number;
}

export interface Listing<T> {
  stamp: DirectoryStamp;
  /** Wall-clock milliseconds just before the directory was read (after the stamp was taken). */
  readAtMs: number;
  entries: T;
}

export function listingStands<T>(listing: Listing<T> | undefined, now: DirectoryStamp): listing is Listing<T> {
  if (listing === undefined) return false;
  const then = listing.stamp;
  if (then.ino !== now.ino || then.ctimeMs !== now.ctimeMs || then.mtimeMs !== now.mtimeMs || then.nlink !== now.nlink || then.size !== now.size) return false;
  return then.ctimeMs + SETTLE_MS <= listing.readAtMs;
}
