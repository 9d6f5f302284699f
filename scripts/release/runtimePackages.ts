import * as fs from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { ReleaseError } from './releaseError.js';

/** One installed package the release must carry, found where node would find it. */
export interface RuntimePackage {
  name: string;
  version: string;
  /** Its folder relative to the project root, e.g. `node_modules/yargs/node_modules/string-width`. */
  location: string;
}

interface Manifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Edge {
  /** The folder of the package that asks (node resolves from there). */
  from: string;
  name: string;
  optional: boolean;
  requiredBy: string;
}

/**
 * Dependencies that only a build from source uses. zstd-napi's `install` script runs
 * prebuild-install, or node-gyp with node-addon-api's C++ headers; its binding.js then
 * loads build/Release/binding.node and nothing else. An unpacked release never runs
 * install scripts, so these (and prebuild-install's dozen dependencies) stay behind.
 * The release's own check (smokeTest) proves every module still loads without them.
 */
const INSTALL_ONLY: Readonly<Record<string, readonly string[]>> = {
  'zstd-napi': ['node-addon-api', 'prebuild-install'],
};

/** Type declarations are read by tsc, never by node (zstd-napi lists @types/node as a dependency). */
function typesOnly(name: string): boolean {
  return name.startsWith('@types/');
}

function readManifest(path: string): Manifest {
  try {
    return JSON.parse(fs.readFileSync(path, 'utf8')) as Manifest;
  } catch (err) {
    throw new ReleaseError(`cannot read ${path}: ${(err as Error).message}`, 'run `npm install` in the checkout, then `npm run release` again');
  }
}

/**
 * Where node finds `name` asked for from `from`: `<dir>/node_modules/<name>` for `from`
 * and each folder above it, up to the project root (node's own lookup; it would go on
 * above the root, but what lies there is not part of the checkout and must not be
 * shipped by accident).
 */
function resolvePackage(root: string, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', name);
      const stat = fs.lstatSync(candidate, { throwIfNoEntry: false });
      if (stat?.isSymbolicLink()) {
        // An `npm link`ed package: node would resolve its dependencies from the link's
        // target, somewhere outside node_modules, so a copy here would resolve differently.
        throw new ReleaseError(
          `${relative(root, candidate)} is a symlink to ${fs.readlinkSync(candidate)}; a release carries installed packages only`,
          `install ${name} normally (\`npm install\`), then \`npm run release\` again`,
        );
      }
      if (stat?.isDirectory() && fs.existsSync(join(candidate, 'package.json'))) return relative(root, candidate);
    }
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/**
 * Every package node loads at runtime: the `dependencies` of the project's package.json,
 * then theirs, transitively (optional ones and optional peers when installed, as they are
 * for this platform: the native `@napi-rs/blake-hash-linux-x64-gnu`, `msgpackr-extract`).
 * Read from the installed package.json files rather than a lock file, because those are
 * what node reads. Sorted by location.
 */
export function runtimePackages(root: string): RuntimePackage[] {
  const found = new Map<string, RuntimePackage>();
  const queue: Edge[] = [];
  const enqueue = (from: string, manifest: Manifest, requiredBy: string): void => {
    const skip = new Set(INSTALL_ONLY[manifest.name ?? ''] ?? []);
    const add = (names: Record<string, string> | undefined, optional: (name: string) => boolean): void => {
      for (const name of Object.keys(names ?? {})) {
        if (!typesOnly(name) && !skip.has(name)) queue.push({ from, name, optional: optional(name), requiredBy });
      }
    };
    const optionalNames = new Set(Object.keys(manifest.optionalDependencies ?? {}));
    // npm lists an optional dependency under both keys; optionalDependencies wins.
    add(manifest.dependencies, (name) => optionalNames.has(name));
    add(manifest.optionalDependencies, () => true);
    add(manifest.peerDependencies, (name) => manifest.peerDependenciesMeta?.[name]?.optional === true);
  };

  enqueue(root, readManifest(join(root, 'package.json')), 'package.json');
  for (let edge = queue.shift(); edge; edge = queue.shift()) {
    const location = resolvePackage(root, edge.from, edge.name);
    if (location === undefined) {
      if (edge.optional) continue; // another platform's prebuilt addon, or an optional peer nobody installed
      throw new ReleaseError(
        `${edge.name}, a dependency of ${edge.requiredBy}, is not installed under ${join(root, 'node_modules')}`,
        'run `npm install` in the checkout (on the online host), then `npm run release` again',
      );
    }
    if (found.has(location)) continue;
    const manifest = readManifest(join(root, location, 'package.json'));
    const pkg: RuntimePackage = { name: edge.name, version: manifest.version ?? '(no version)', location };
    found.set(location, pkg);
    enqueue(join(root, location), manifest, `${pkg.name}@${pkg.version}`);
  }
  return [...found.values()].sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
}
