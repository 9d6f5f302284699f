import { AirlockError } from '../errors.js';
import { bindexFile, cranSnapshotFile, distrosFile, schemaMarker } from '../core/layout/generatedFiles.js';
import { binaryConfigName, binaryContrib, CRAN_CONTRIB, desktopConfigName, desktopContrib, desktopExtension, type BinaryTarget, type DesktopTarget } from '../core/layout/rspmLayout.js';
import { resolveCranSource, type SourceTypeChoice } from '../upstream/detectSource.js';
import type { HttpClient } from '../upstream/http.js';
import { binaryContribUrl, cranContribUrl, desktopContribUrl, rUserAgent } from '../upstream/sources.js';
import type { Collected } from './collect.js';
import { fetchContribIndex, indexFiles, indexItems, type ContribIndex } from './contribIndex.js';
import { sysreqsPart } from './sysreqs.js';
import { cranArchivePart } from './cranArchiveListing.js';
import { subsetCran } from './subsetCran.js';
import type { Wanted } from './wantedFiles.js';

export interface CranRequest {
  baseUrl: string;
  sourceType: SourceTypeChoice;
  snapshot: string;
  binaries: BinaryTarget[];
  /** Windows and macOS binaries (--distributions windows,macos), from a mirror or Package Manager. */
  desktop: DesktopTarget[];
  /** null: --sysreqs-url none. */
  sysreqsUrl: string | null;
  userAgent: string;
  /** With --file-in: only these packages and what they need. */
  wanted: Wanted | null;
  /** --rspm-version: recorded, no other effect. */
  rspmVersion: string | null;
  /** --include-archive: every earlier version the upstream's Meta/archive.rds lists. */
  includeArchive: boolean;
}

/** Reads every index a CRAN download needs: source packages, each binary configuration, sysreqs. */
export async function collectCran(http: HttpClient, request: CranRequest): Promise<Collected> {
  const source = await resolveCranSource(http, request.baseUrl, request.sourceType, request.snapshot, request.userAgent);
  if (request.binaries.length > 0 && source.kind !== 'package-manager') {
    throw new AirlockError('USAGE', `${source.base} is a plain CRAN mirror; Linux binaries come only from a Package Manager server`, {
      hint: 'drop --include-binaries, or point --base-url at a Package Manager server',
    });
  }
  const indexes: Promise<ContribIndex>[] = [fetchContribIndex(http, cranContribUrl(source), CRAN_CONTRIB, request.userAgent)];
  for (const target of request.binaries) {
    indexes.push(fetchContribIndex(http, binaryContribUrl(source, target.distribution), binaryContrib(target), rUserAgent(target)));
  }
  for (const target of request.desktop) {
    indexes.push(fetchContribIndex(http, desktopContribUrl(source, target), desktopContrib(target), request.userAgent, desktopExtension(target)));
  }
  const [fullSource, ...fullRest] = await Promise.all(indexes);
  const names = [...request.binaries.map(binaryConfigName), ...request.desktop.map(desktopConfigName)];
  const subset = request.wanted ? subsetCran(request.wanted, fullSource!, fullRest.map((index, i) => ({ name: names[i]!, index }))) : null;
  const sourceIndex = subset?.source ?? fullSource;
  const rest = subset?.binaries ?? fullRest;
  const binaryIndexes = rest.slice(0, request.binaries.length);
  const desktopIndexes = rest.slice(request.binaries.length);
  const selected = subset ? new Set(subset.report.packages.map((p) => p.name)) : null;
  const keep = selected ? (pkg: string) => selected.has(pkg) : null;
  const archive = request.includeArchive ? await cranArchivePart(http, cranContribUrl(source), request.userAgent, keep) : null;
  const sysreqs = await sysreqsPart(http, request.sysreqsUrl, request.userAgent);
  const all = [sourceIndex!, ...binaryIndexes, ...desktopIndexes];
  const files = [
    schemaMarker(),
    cranSnapshotFile(source, sourceIndex!.archives.length, { rspmVersion: request.rspmVersion, sysreqs: sysreqs.fetched }),
    ...all.flatMap(indexFiles),
    ...request.binaries.map((target, i) => bindexFile(target, source.snapshot, binaryIndexes[i]!.archives.length)),
    ...(request.binaries.length > 0 ? [distrosFile(request.binaries)] : []),
    ...(archive ? [archive.file] : []),
  ];
  return {
    section: { kind: 'cran', sysreqs: sysreqs.fetched },
    files,
    items: [...all.flatMap(indexItems), ...(subset?.archived ?? []), ...(archive?.items ?? []), ...sysreqs.items],
    source: { kind: source.kind, base: source.base, snapshot: source.snapshot, binaries: request.binaries, ...(request.desktop.length > 0 ? { desktop: request.desktop.map(desktopConfigName) } : {}) },
    notes: [...(subset?.notes ?? []), ...sysreqs.notes, ...(request.rspmVersion === null ? [] : [`--rspm-version ${request.rspmVersion} is recorded in v3/snapshot.json; it changes nothing else (airlock writes one layout for every Package Manager version that reads rspm-offline-data)`])],
    ...(subset ? { selection: subset.report } : {}),
  };
}
