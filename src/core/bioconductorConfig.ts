import { compareVersions } from './rDependencies.js';
import { parseDocument, type YAMLError } from 'yaml';
import { AirlockError } from '../errors.js';

/**
 * Bioconductor's config.yaml (the file BiocManager reads) tells which Bioconductor
 * version is release and which is devel, and which R version each Bioconductor
 * version is built for. Only those three keys matter here; the rest is ignored.
 */
export interface BiocConfig {
  releaseVersion: string;
  develVersion: string;
  /** Bioconductor version -> R version, e.g. '3.20' -> '4.4'; empty when the file has no map. */
  rVersionFor: Record<string, string>;
}

export interface ResolvedBiocVersion {
  version: string;
  /** Set when the user asked by alias (also when they asked both ways). */
  alias: 'release' | 'devel' | null;
  rVersion: string | null;
}

const BIOC_VERSION = /^\d+\.\d+$/;
/** R versions in r_ver_for_bioc_ver are written '4.4' (older files: '2.1', a few '4.0.3'-like). */
const R_VERSION = /^\d+(?:\.\d+)+$/;

const CONFIG_HINT =
  "Bioconductor's config.yaml could not be understood; fetch it again, and if it stays wrong report it to the Bioconductor maintainers";

function invalid(message: string, where: string): AirlockError {
  return new AirlockError('UPSTREAM_INDEX_INVALID', message, { where, hint: CONFIG_HINT });
}

function yamlProblem(error: YAMLError, where: string): AirlockError {
  const line = error.linePos?.[0].line;
  // The library's message ends with a multi-line source excerpt; the first line says it all.
  const message = error.message.split('\n')[0] ?? error.message;
  return invalid(`config.yaml is not valid YAML: ${message}`, line === undefined ? where : `${where}:${line}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function versionField(config: Record<string, unknown>, key: string, where: string): string {
  const value = config[key];
  if (typeof value !== 'string' || !BIOC_VERSION.test(value)) {
    throw invalid(`${key} is ${value === undefined ? 'missing' : `'${String(value)}', not a version like '3.20'`}`, where);
  }
  return value;
}

function rVersionMap(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === '') return {};
  if (!isPlainObject(value)) throw invalid('r_ver_for_bioc_ver is not a map of Bioconductor version to R version', where);
  const map: Record<string, string> = {};
  for (const [bioc, r] of Object.entries(value)) {
    if (!BIOC_VERSION.test(bioc)) throw invalid(`r_ver_for_bioc_ver has '${bioc}', not a Bioconductor version like '3.20'`, where);
    if (typeof r !== 'string' || !R_VERSION.test(r)) throw invalid(`r_ver_for_bioc_ver maps ${bioc} to '${String(r)}', not an R version like '4.4'`, where);
    map[bioc] = r;
  }
  return map;
}

/**
 * Parse config.yaml. It is read with YAML's failsafe schema, where every scalar is a
 * string exactly as written: with the core schema an unquoted `3.20` would be the
 * number 3.2 and name the wrong Bioconductor release.
 */
export function parseBiocConfig(text: string, where: string): BiocConfig {
  const doc = parseDocument(text, { schema: 'failsafe' });
  const firstError = doc.errors[0];
  if (firstError) throw yamlProblem(firstError, where);
  const config: unknown = doc.toJS();
  if (!isPlainObject(config)) throw invalid('config.yaml is not a map of settings', where);
  return {
    releaseVersion: versionField(config, 'release_version', where),
    develVersion: versionField(config, 'devel_version', where),
    rVersionFor: rVersionMap(config['r_ver_for_bioc_ver'], where),
  };
}

/** Versions the config knows of: the map's keys, plus release and devel themselves. */
function knownVersions(config: BiocConfig): Set<string> {
  return new Set([...Object.keys(config.rVersionFor), config.releaseVersion, config.develVersion]);
}

function resolveOne(requested: string, config: BiocConfig, known: Set<string>): { version: string; alias: 'release' | 'devel' | null } {
  if (requested === 'release') return { version: config.releaseVersion, alias: 'release' };
  if (requested === 'devel') return { version: config.develVersion, alias: 'devel' };
  if (!BIOC_VERSION.test(requested)) {
    throw new AirlockError('USAGE', `'${requested}' is not a Bioconductor version`, {
      hint: "give 'release', 'devel' or a version such as 3.20",
    });
  }
  // Only refuse when the config does list versions: an empty map means we cannot tell.
  if (Object.keys(config.rVersionFor).length > 0 && !known.has(requested)) {
    const list = [...known].sort(compareVersions).join(', ');
    throw new AirlockError('USAGE', `Bioconductor ${requested} does not exist`, {
      hint: `known versions: ${list} (release is ${config.releaseVersion}, devel is ${config.develVersion})`,
    });
  }
  return { version: requested, alias: null };
}


/**
 * Turn what the user asked for ('release', 'devel', '3.19', ...) into versions, in the
 * order asked, each once: 'release' and the release's number are the same repository,
 * so they make one entry, which keeps the alias (the first alias asked, if several).
 */
export function resolveBiocVersions(requested: string[], config: BiocConfig): ResolvedBiocVersion[] {
  if (requested.length === 0) {
    throw new AirlockError('USAGE', 'no Bioconductor version was given', { hint: "give 'release', 'devel' or a version such as 3.20" });
  }
  const known = knownVersions(config);
  const resolved = new Map<string, ResolvedBiocVersion>();
  for (const request of requested) {
    const { version, alias } = resolveOne(request, config, known);
    const seen = resolved.get(version);
    if (seen) {
      seen.alias ??= alias;
      continue;
    }
    resolved.set(version, { version, alias, rVersion: config.rVersionFor[version] ?? null });
  }
  return [...resolved.values()];
}
