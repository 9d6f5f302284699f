import { AirlockError } from '../errors.js';
import { SYSREQS_SYSTEMS_PATH, sysreqsRulePath } from '../core/layout/rspmLayout.js';
import type { HttpClient } from '../upstream/http.js';
import { sysreqsListingUrl, sysreqsSystemsUrl } from '../upstream/sources.js';
import type { FetchItem } from './fetchItem.js';

/**
 * The r-system-requirements rules, read through GitHub's contents API: one listing of
 * `rules/` and one entry for `systems.json`, each naming a download URL, a size and a git
 * blob id, which every download is checked against (and which lets a re-run skip rules
 * it already has).
 */
interface ContentEntry {
  name: string;
  sha: string;
  size: number;
  type: string;
  download_url: string;
}

const MAX_LISTING_BYTES = 16 * 1024 * 1024;

/**
 * The sysreqs part of a download: nothing when `base` is null (--sysreqs-url none: the snapshot
 * keeps the last one's sysreqs/). A failure names the flag: a site mirror inside a network with
 * no route to GitHub has no other way round it.
 */
export async function sysreqsPart(http: HttpClient, base: string | null, userAgent: string): Promise<{ items: FetchItem[]; notes: string[]; fetched: boolean }> {
  if (base === null) return { items: [], notes: ['system requirements were not downloaded (--sysreqs-url none); sysreqs/ stays as the last snapshot had it'], fetched: false };
  try {
    return { items: await sysreqsItems(http, base, userAgent), notes: [], fetched: true };
  } catch (err) {
    if (!(err instanceof AirlockError)) throw err;
    throw new AirlockError(err.code, `${err.message} (system requirements, from ${base})`, {
      ...(err.where === undefined ? {} : { where: err.where }),
      hint: `${err.hint ?? 'check the URL'}; to download without them, pass --sysreqs-url none (or point --sysreqs-url at a reachable copy)`,
      cause: err,
    });
  }
}

export async function sysreqsItems(http: HttpClient, base: string, userAgent: string): Promise<FetchItem[]> {
  const listingUrl = sysreqsListingUrl(base);
  const listing = await fetchJson(http, listingUrl, userAgent);
  if (!Array.isArray(listing)) throw invalid(listingUrl, 'is not a JSON array of files');
  const rules = listing.map((value) => contentEntry(value, listingUrl)).filter((e) => e.type === 'file' && e.name.endsWith('.json'));
  if (rules.length === 0) throw invalid(listingUrl, 'lists no rules/*.json files');
  const systemsUrl = sysreqsSystemsUrl(base);
  const systems = contentEntry(await fetchJson(http, systemsUrl, userAgent), systemsUrl);
  if (systems.type !== 'file') throw invalid(systemsUrl, `is a ${systems.type}, not a file`);
  return [
    ...rules.map((rule) => item(sysreqsRulePath(rule.name), rule, userAgent)),
    item(SYSREQS_SYSTEMS_PATH, systems, userAgent),
  ];
}

function item(path: string, entry: ContentEntry, userAgent: string): FetchItem {
  return { path, url: entry.download_url, userAgent, expected: { md5: null, size: entry.size, gitBlob: { sha: entry.sha, size: entry.size } } };
}

async function fetchJson(http: HttpClient, url: string, userAgent: string): Promise<unknown> {
  const body = await http.fetchSmall({ url, userAgent }, MAX_LISTING_BYTES);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid(url, 'is not valid JSON');
  }
}

function contentEntry(value: unknown, where: string): ContentEntry {
  const e = value as Partial<ContentEntry> | null;
  const ok =
    e !== null &&
    typeof e === 'object' &&
    typeof e.name === 'string' &&
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(e.name) &&
    typeof e.sha === 'string' &&
    /^[0-9a-f]{40}$/.test(e.sha) &&
    typeof e.size === 'number' &&
    Number.isSafeInteger(e.size) &&
    e.size >= 0 &&
    typeof e.type === 'string' &&
    (e.type !== 'file' || (typeof e.download_url === 'string' && /^https?:\/\//.test(e.download_url)));
  if (!ok) throw invalid(where, `has an entry airlock cannot use: ${JSON.stringify(value).slice(0, 200)}`);
  return e as ContentEntry;
}

function invalid(url: string, what: string): AirlockError {
  return new AirlockError('UPSTREAM_INDEX_INVALID', `the sysreqs listing ${url} ${what}`, {
    where: url,
    hint: 'check --sysreqs-url: it names the r-system-requirements repository in the GitHub contents API form (…/repos/OWNER/r-system-requirements)',
  });
}
