import type { ContribIndex } from './contribIndex.js';
import type { SelectionReport } from './subsetCran.js';
import type { LayoutFile, Section } from '../core/layout/rspmLayout.js';
import type { FetchItem } from './fetchItem.js';

/**
 * What one `get` found upstream, before anything is downloaded: the part of the layout it
 * replaces, the small files already in hand (indexes, config, generated files), and the
 * files still to fetch.
 */
export interface Collected {
  section: Section;
  files: LayoutFile[];
  items: FetchItem[];
  /** What the source was, for the summary (kind, snapshot, versions...). */
  source: Record<string, unknown>;
  /** Things the admin should read (a repository the source does not publish...). */
  notes: string[];
  /** With --file-in: what was selected and why. */
  selection?: SelectionReport;
  /** CRAN packages to add to the snapshot's CRAN part (a Bioconductor selection's CRAN dependencies). */
  cranAdditions?: ContribIndex;
}
