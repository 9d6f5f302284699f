import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { launcherScript } from './launcher.js';
import { ReleaseError } from './releaseError.js';
import { runtimePackages, type RuntimePackage } from './runtimePackages.js';

export interface StagedRelease {
  /** The release's top folder, `<stage>/airlock-<version>-<platform>-<arch>`. */
  dir: string;
  packages: RuntimePackage[];
  files: number;
}

/** The commands the package installs (package.json `bin`), each getting a shell launcher. */
const COMMANDS = ['airlock', 'rspm-offline-downloader'] as const;

/**
 * Copies the files of `from` that `keep` accepts to `to`, keeping their modes (the
 * execute bit of a native addon or a launcher). Folders are created only for files that
 * are copied, so filtered-out folders leave nothing behind. A symlink that is kept stops the build:
 * copying it would point outside the release (into the checkout), and dereferencing it
 * silently could ship something nobody chose.
 */
function copyFiles(from: string, to: string, keep: (rel: string, isDir: boolean) => boolean, rel = ''): number {
  let copied = 0;
  for (const entry of fs.readdirSync(join(from, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (!keep(path, entry.isDirectory())) continue;
    if (entry.isSymbolicLink()) {
      throw new ReleaseError(`${join(from, path)} is a symlink; a release copies regular files only`, 'replace the link with the file it points to, or leave it out of the release');
    }
    if (entry.isDirectory()) {
      copied += copyFiles(from, to, keep, path);
    } else if (entry.isFile()) {
      fs.mkdirSync(dirname(join(to, path)), { recursive: true });
      fs.copyFileSync(join(from, path), join(to, path), fs.constants.COPYFILE_EXCL);
      copied++;
    }
  }
  return copied;
}

/**
 * What of an installed package node needs: not its nested node_modules (the packages in
 * there that are needed are copied from their own locations), not type declarations, and,
 * in a package node-gyp built (it has a binding.gyp), of build/ only the addon itself
 * (`build/Release/binding.node`): the object files, Makefiles and static library next to
 * it are build leftovers, megabytes of them, naming paths of the build host. Other
 * packages' build/ is their code (some keep their library in build/lib).
 */
function keepInPackage(packageDir: string): (rel: string, isDir: boolean) => boolean {
  const nodeGyp = fs.existsSync(join(packageDir, 'binding.gyp'));
  return (rel, isDir) => {
    const parts = rel.split('/');
    if (parts[0] === 'node_modules') return false;
    if (nodeGyp && parts[0] === 'build') return isDir ? parts.length <= 2 : parts.length === 3 && rel.endsWith('.node');
    return isDir || !/\.d\.[cm]?ts(\.map)?$/.test(rel);
  };
}

/**
 * The compiled code under dist/src, but only files whose source still exists: tsc never
 * deletes output, so a module removed from src/ lingers in dist/ (dist/src/bundle/tarSink.js
 * did) and would otherwise ship. Source maps stay behind: they point at src/*.ts, which
 * the release does not carry.
 */
function keepCompiled(root: string): (rel: string, isDir: boolean) => boolean {
  return (rel, isDir) => isDir || (rel.endsWith('.js') && fs.existsSync(join(root, 'src', `${rel.slice(0, -'.js'.length)}.ts`)));
}

/**
 * package.json as the release needs it: name and version (src/version.ts reads them),
 * `type: module` (node loads bin/*.js and dist as ES modules because of it), bin,
 * engines, dependencies. The scripts call tsc and vitest, which the release does not
 * carry, and devDependencies name them.
 */
function releaseManifest(root: string): string {
  const manifest = JSON.parse(fs.readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  delete manifest.scripts;
  delete manifest.devDependencies;
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * Builds the release folder `<stage>/<top>`: compiled code, launchers, package.json,
 * README and docs, and every runtime package with its native addons as built in this
 * checkout for this platform. Nothing is fetched: everything comes from the checkout.
 */
export function stageRelease(root: string, stage: string, top: string, version: string): StagedRelease {
  const dir = join(stage, top);
  if (!fs.existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    throw new ReleaseError(`${join(root, 'dist', 'src', 'cli', 'main.js')} is missing: the code is not compiled`, 'run `npm run release`, which compiles first (or `npx tsc -p .`)');
  }
  let files = 0;
  files += copyFiles(join(root, 'dist', 'src'), join(dir, 'dist', 'src'), keepCompiled(root));
  files += copyFiles(join(root, 'bin'), join(dir, 'bin'), (rel, isDir) => isDir || rel.endsWith('.js'));
  files += copyFiles(join(root, 'docs'), join(dir, 'docs'), () => true);
  fs.copyFileSync(join(root, 'README.md'), join(dir, 'README.md'));
  fs.writeFileSync(join(dir, 'package.json'), releaseManifest(root));
  for (const command of COMMANDS) {
    if (!fs.existsSync(join(dir, 'bin', `${command}.js`))) {
      throw new ReleaseError(`bin/${command}.js is missing from ${root}`, `restore it from git: the launcher bin/${command} runs it`);
    }
    fs.writeFileSync(join(dir, 'bin', command), launcherScript(command, version), { mode: 0o755 });
  }
  files += 2 + COMMANDS.length;

  const packages = runtimePackages(root);
  for (const pkg of packages) files += copyFiles(join(root, pkg.location), join(dir, pkg.location), keepInPackage(join(root, pkg.location)));
  return { dir, packages, files };
}
