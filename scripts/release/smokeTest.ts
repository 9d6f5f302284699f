import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { ReleaseError } from './releaseError.js';

/**
 * Imports every module of dist/src from the unpacked release (the CLI loads the online
 * side lazily, so `--version` alone would not reach undici), then lists the native addons
 * node loaded, from require's cache (the addons are loaded by CommonJS code even when an
 * ES module imports it). Run with `node --input-type=module -e`, the release root as
 * its only argument.
 */
const IMPORT_ALL = `
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const src = join(process.argv[1], 'dist', 'src');
for (const e of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (e.isFile() && e.name.endsWith('.js')) await import(pathToFileURL(join(e.parentPath, e.name)).href);
}
const cache = createRequire(join(src, 'version.js')).cache;
process.stdout.write(JSON.stringify(Object.keys(cache).filter((p) => p.endsWith('.node'))));
`;

/** The addons that must load: zstd (bundles) and BLAKE3 (every object id). msgpackr-extract is optional. */
const REQUIRED_ADDONS = [`${sep}zstd-napi${sep}`, `${sep}@napi-rs${sep}blake-hash-`];

export interface SmokeResult {
  /** Native addons loaded, relative to the release root. */
  nativeAddons: string[];
}

/**
 * An environment with nothing of the build host's but node: an empty HOME (no npm cache,
 * no ~/.node_modules), npm told to stay offline, no NODE_PATH, and a PATH of one folder
 * holding only `node`. (airlock's flush runs coreutils' sync by its absolute path.)
 */
function minimalEnv(work: string): Record<string, string> {
  const home = join(work, 'home');
  const bin = join(work, 'path');
  fs.mkdirSync(home);
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, join(bin, 'node'));
  return { HOME: home, PATH: bin, npm_config_offline: 'true' };
}

/** A folder named node_modules above the release would stand in for a missing package and hide it. */
function refuseAncestorNodeModules(dir: string): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (fs.existsSync(join(d, 'node_modules'))) {
      throw new ReleaseError(
        `${join(d, 'node_modules')} exists above the folder the release is checked in (${dir}), so node could load packages from it`,
        'point TMPDIR at a folder with no node_modules above it, then `npm run release` again',
      );
    }
    if (dirname(d) === d) return;
  }
}

/**
 * Unpacks `tarball` into a fresh temporary folder and runs the release from there, the
 * way the air-gapped host will: both launchers answer `--version`, every module imports,
 * the native addons load from the release (not from the checkout), and a small offline
 * cycle (snapshot, bundle with a zstd-compressed object, verify, apply, verify --deep)
 * works. Throws a ReleaseError naming the command and its output otherwise.
 */
export function smokeTest(tarball: string, top: string, version: string): SmokeResult {
  const work = fs.mkdtempSync(join(tmpdir(), 'airlock-release-check-'));
  try {
    const unpacked = join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    refuseAncestorNodeModules(unpacked);
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', unpacked], { encoding: 'utf8' });
    if (untar.status !== 0) throw new ReleaseError(`tar -xzf ${tarball} failed: ${untar.stderr.trim()}`, 'the tarball is damaged; run `npm run release` again');
    const tops = fs.readdirSync(unpacked);
    if (tops.length !== 1 || tops[0] !== top) throw new ReleaseError(`${tarball} holds ${JSON.stringify(tops)}, not the one folder ${top}`, 'this is a bug in scripts/release.ts');
    const root = fs.realpathSync(join(unpacked, top));
    const env = minimalEnv(work);
    const cwd = join(work, 'cwd');
    fs.mkdirSync(cwd);

    const run = (file: string, args: string[]): string => {
      const result = spawnSync(file, args, { cwd, env, encoding: 'utf8' });
      if (result.status !== 0) {
        throw new ReleaseError(
          `the unpacked release failed: ${relative(work, file)} ${args.join(' ')} exited ${result.status ?? result.signal ?? result.error?.message}\n${result.stderr}${result.stdout}`,
          'a runtime package or native addon is missing from the release, or was built for another platform; fix scripts/release/, then `npm run release` again',
        );
      }
      return result.stdout;
    };
    const airlock = (...args: string[]): string => run(join(root, 'bin', 'airlock'), [...args, '--quiet']);

    for (const command of ['airlock', 'rspm-offline-downloader']) {
      const reported = run(join(root, 'bin', command), ['--version']).trim();
      if (reported !== version) throw new ReleaseError(`bin/${command} --version says ${JSON.stringify(reported)}, not ${version}`, 'check src/version.ts and the package.json the release carries');
    }

    const loaded = JSON.parse(run(join(env.PATH!, 'node'), ['--input-type=module', '-e', IMPORT_ALL, root])) as string[];
    const outside = loaded.filter((p) => !p.startsWith(root + sep));
    if (outside.length > 0) throw new ReleaseError(`native addons loaded from outside the release: ${outside.join(', ')}`, 'copy them into the release (scripts/release/stageRelease.ts)');
    for (const addon of REQUIRED_ADDONS) {
      if (!loaded.some((p) => p.includes(addon))) throw new ReleaseError(`no native addon matching ${addon} loaded (loaded: ${loaded.join(', ') || 'none'})`, 'check that it is installed for this platform (`npm install`)');
    }

    // 100 kB of repetitive text: large and compressible enough that the bundle stores it zstd-compressed.
    const tree = join(work, 'tree');
    fs.mkdirSync(join(tree, 'src', 'contrib'), { recursive: true });
    fs.writeFileSync(join(tree, 'src', 'contrib', 'PACKAGES'), 'Package: smoke\nVersion: 1.0\n\n'.repeat(4000));
    airlock('snapshot', 'create', '--repo', join(work, 'repo'), '--from', tree, '--label', 'smoke');
    const bundle = join(work, 'smoke.airlock');
    const created = JSON.parse(airlock('bundle', 'create', '--repo', join(work, 'repo'), '--snapshot', 'smoke', '--output', bundle, '--json')) as { compressedObjects?: number; packs?: number };
    // A pack is zstd too (format 2): either shows the addon ran.
    if (!created.compressedObjects && !created.packs) throw new ReleaseError(`bundle create stored nothing zstd-compressed (${JSON.stringify(created)})`, 'the zstd addon did not run; check node_modules/zstd-napi in the release');
    airlock('bundle', 'verify', bundle);
    airlock('apply', bundle, '--data-dir', join(work, 'data'));
    airlock('verify', '--data-dir', join(work, 'data'), '--deep');

    return { nativeAddons: loaded.map((p) => relative(root, p)) };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
