/**
 * R's User-Agent, from which Posit Package Manager (and `airlock serve`) choose Linux binaries:
 * the R version (major.minor) and the architecture. R's default is
 * `R (4.4.1 x86_64-pc-linux-gnu x86_64 linux-gnu)`, but over libcurl (download.file's default
 * method) R sends `libcurl/8.x` unless the option is set as Package Manager documents it,
 * `R/4.4.1 R (4.4.1 x86_64-pc-linux-gnu x86_64 linux-gnu)`: both forms are read. Undefined for
 * any other client, which gets source packages.
 */
export function parseRUserAgent(userAgent: string): { rVersion: string; arch: string } | undefined {
  const m = /(?:^|\s)R \((\d+\.\d+)\.\S+ ([^-\s]+)-/.exec(userAgent);
  return m ? { rVersion: m[1]!, arch: m[2]! } : undefined;
}
