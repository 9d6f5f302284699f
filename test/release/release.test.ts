import { blake3 } from '@napi-rs/blake-hash';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join, relative, sep } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTarball } from '../../scripts/release/writeTarball.js';
import { airlockJson, airlockOk, projectRoot, type RunResult } from '../helpers/cli.js';
import { onlineScenario, readTree, tempDir } from '../helpers/fixtures.js';

/**
 * Issue 5: the tool itself crosses the air gap. `npm run release`'s script builds the
 * tarball; it is unpacked in an empty temporary folder outside the checkout and run from
 * there with the npm cache, the checkout's node_modules and the network out of reach: an
 * empty HOME, npm_config_offline=true, a PATH holding only node, and nothing else of this
 * process's environment. The bundle it applies is made by the checkout's CLI, as the
 * online host would make it.
 */

interface KeyJson {
  keyId: string;
  privateKey: string;
  publicKey: string;
}

const pkg = JSON.parse(fs.readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

/** `linux-x64` as node names them, `-musl` on a musl libc (as scripts/release.ts names it). */
function expectedPlatform(): string {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  const musl = process.platform === 'linux' && !report.header?.glibcVersionRuntime;
  return `${process.platform}-${process.arch}${musl ? '-musl' : ''}`;
}

/** Every path under `dir` (relative, `/`-separated), with its lstat. */
function walk(dir: string): { path: string; stat: fs.Stats }[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort().map((p) => ({ path: p.split(sep).join('/'), stat: fs.lstatSync(join(dir, p)) }));
}

describe('the release, unpacked where only node is in reach', () => {
  const top = `airlock-${pkg.version}-${expectedPlatform()}`;
  const file = `${top}.tar.gz`;
  let out: string;
  let unpacked: string;
  /** The release's top folder, real path. */
  let root: string;
  /** Only node on PATH. */
  let onlyNode: Record<string, string>;
  let cwd: string;
  let buildLog: string;

  beforeAll(() => {
    out = tempDir('airlock-release-out-');
    const build = spawnSync(process.execPath, [join(projectRoot, 'dist', 'scripts', 'release.js'), '--output', out], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`release.js exited ${build.status}:\n${build.stderr}\n${build.stdout}`);
    buildLog = build.stdout;

    unpacked = tempDir('airlock-release-unpacked-');
    const untar = spawnSync('tar', ['-xzf', join(out, file), '-C', unpacked], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`tar -xzf exited ${untar.status}: ${untar.stderr}`);
    root = fs.realpathSync(join(unpacked, top));

    const env = (...tools: [string, string][]): Record<string, string> => {
      const bin = tempDir('airlock-release-path-');
      for (const [name, target] of tools) fs.symlinkSync(target, join(bin, name));
      return { HOME: tempDir('airlock-release-home-'), PATH: bin, npm_config_offline: 'true' };
    };
    onlyNode = env(['node', process.execPath]);
    cwd = tempDir('airlock-release-cwd-');
  }, 180_000);

  /** Runs a program of the unpacked release from an empty folder with `env` as its whole environment. */
  function run(program: string, args: string[], env: Record<string, string>): RunResult {
    const result = spawnSync(program, args, { cwd, env, encoding: 'utf8' });
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  }

  function releaseOk(args: string[], env: Record<string, string>): RunResult {
    const result = run(join(root, 'bin', 'airlock'), args, env);
    if (result.status !== 0) throw new Error(`release airlock ${args.join(' ')} exited ${result.status}:\n${result.stderr}\n${result.stdout}`);
    return result;
  }

  it('writes one tarball and its sums, which sha256sum -c and b3sum -c accept', () => {
    expect(fs.readdirSync(out).sort()).toEqual([file, `${file}.b3`, `${file}.sha256`]);
    const bytes = fs.readFileSync(join(out, file));
    expect(fs.readFileSync(join(out, `${file}.sha256`), 'utf8')).toBe(`${createHash('sha256').update(bytes).digest('hex')}  ${file}\n`);
    expect(fs.readFileSync(join(out, `${file}.b3`), 'utf8')).toBe(`${blake3(bytes).toString('hex')}  ${file}\n`);
    for (const [tool, sums] of [['sha256sum', `${file}.sha256`], ['b3sum', `${file}.b3`]] as const) {
      const check = spawnSync(tool, ['-c', sums], { cwd: out, encoding: 'utf8' });
      expect(check.status, `${tool} -c: ${check.error?.message ?? check.stderr}`).toBe(0);
      expect(check.stdout).toBe(`${file}: OK\n`);
    }
    expect(buildLog).toContain(bytes.length.toString());
  });

  it('is one folder of launchers, compiled code, package.json, README, docs and runtime packages', () => {
    expect(relative(projectRoot, root).startsWith(`..${sep}`)).toBe(true);
    expect(fs.readdirSync(unpacked)).toEqual([top]);
    expect(fs.readdirSync(root).sort()).toEqual(['README.md', 'bin', 'dist', 'docs', 'node_modules', 'package.json']);
    expect(fs.readdirSync(join(root, 'dist'))).toEqual(['src']);
    expect(fs.readdirSync(join(root, 'bin')).sort()).toEqual(['airlock', 'airlock.js', 'rspm-offline-downloader', 'rspm-offline-downloader.js']);
    for (const launcher of ['airlock', 'rspm-offline-downloader']) {
      expect(fs.statSync(join(root, 'bin', launcher)).mode & 0o111).toBe(0o111);
      expect(fs.readFileSync(join(root, 'bin', launcher), 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    }
    const manifest = JSON.parse(fs.readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.type).toBe('module');
    expect(manifest.devDependencies).toBeUndefined();
    for (const dependency of Object.keys(pkg.dependencies)) expect(fs.existsSync(join(root, 'node_modules', dependency, 'package.json')), dependency).toBe(true);
    expect(fs.readdirSync(join(root, 'docs')).sort()).toEqual(fs.readdirSync(join(projectRoot, 'docs')).sort());
  });

  it('carries nothing of the checkout and none of the development tools', () => {
    const entries = walk(root);
    expect(entries.length).toBeGreaterThan(100);
    // No link at all, so none into the checkout; and no file naming a checkout path
    // (native addons aside: compilers may embed their build folder in debug strings).
    expect(entries.filter((e) => e.stat.isSymbolicLink()).map((e) => e.path)).toEqual([]);
    const naming = entries.filter((e) => e.stat.isFile() && !/\.(node|bare)$/.test(e.path) && fs.readFileSync(join(root, e.path)).includes(`${projectRoot}/`));
    expect(naming.map((e) => e.path)).toEqual([]);
    const devOnly = /(^|\/)node_modules\/(typescript|vitest|@vitest|vite|esbuild|rollup|@rollup|@types|node-gyp|prebuild-install|node-addon-api)(\/|$)/;
    expect(entries.filter((e) => e.stat.isDirectory() && devOnly.test(e.path)).map((e) => e.path)).toEqual([]);
    expect(entries.filter((e) => /\.ts$/.test(e.path) || e.path.startsWith('test/') || e.path.startsWith('dist/test/')).map((e) => e.path)).toEqual([]);
  });

  it('is reproducible: re-tarring the unpacked folder gives the same bytes', async () => {
    // Fixed mtimes, owners and normalised modes mean nothing of the build host is in the
    // archive beyond the files' names, bytes and execute bits.
    // On a copy whose metadata has drifted (new mtimes, group-writable files), as on another host.
    const copy = tempDir('airlock-release-drift-');
    const cp = spawnSync('cp', ['-a', join(unpacked, top), copy], { encoding: 'utf8' });
    expect(cp.status, cp.stderr).toBe(0);
    const now = new Date();
    for (const e of walk(join(copy, top))) {
      if (e.stat.isSymbolicLink()) continue;
      fs.utimesSync(join(copy, top, e.path), now, now);
      if (e.stat.isFile()) fs.chmodSync(join(copy, top, e.path), e.stat.mode | 0o020);
    }
    const again = join(tempDir('airlock-release-retar-'), file);
    const written = await writeTarball(copy, top, again);
    expect(written.sha256).toBe(fs.readFileSync(join(out, `${file}.sha256`), 'utf8').split(' ')[0]);
  });

  it('answers --version through its launchers, directly and through symlinks, with only node on PATH', () => {
    for (const launcher of ['airlock', 'rspm-offline-downloader']) {
      const result = run(join(root, 'bin', launcher), ['--version'], onlyNode);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(pkg.version);
    }
    // As an admin installs it: /usr/local/bin/airlock -> /opt/.../bin/airlock, and a relative link to that link.
    const links = tempDir('airlock-release-links-');
    fs.symlinkSync(join(root, 'bin', 'airlock'), join(links, 'airlock'));
    fs.mkdirSync(join(links, 'sub'));
    fs.symlinkSync('../airlock', join(links, 'sub', 'al'));
    for (const link of [join(links, 'airlock'), join(links, 'sub', 'al')]) {
      const result = run(link, ['--version'], onlyNode);
      expect(result.status, `${link}: ${result.stderr}`).toBe(0);
      expect(result.stdout.trim()).toBe(pkg.version);
    }
    const noNode = run(join(root, 'bin', 'airlock'), ['--version'], { ...onlyNode, PATH: tempDir('airlock-release-empty-path-') });
    expect(noNode.status).toBe(127);
    expect(noNode.stderr).toMatch(/node is not on PATH/);
  });

  it('loads its native addons from the unpacked folder, not from the checkout', () => {
    const probe = `
      const r = require('node:module').createRequire(process.argv[1] + '/dist/src/version.js');
      const resolved = ['zstd-napi', '@napi-rs/blake-hash', 'msgpackr'].map((m) => r.resolve(m));
      for (const m of ['zstd-napi', '@napi-rs/blake-hash', 'msgpackr']) r(m);
      process.stdout.write(JSON.stringify({ resolved, addons: Object.keys(r.cache).filter((p) => p.endsWith('.node')) }));`;
    const result = run(join(onlyNode.PATH!, 'node'), ['-e', probe, root], onlyNode);
    expect(result.status, result.stderr).toBe(0);
    const { resolved, addons } = JSON.parse(result.stdout) as { resolved: string[]; addons: string[] };
    for (const path of [...resolved, ...addons]) expect(path.startsWith(`${root}/`), path).toBe(true);
    expect(addons.some((p) => p.includes('/zstd-napi/build/'))).toBe(true);
    expect(addons.some((p) => p.includes('/@napi-rs/blake-hash-'))).toBe(true);
  });

  it('verifies, trusts and applies a signed bundle made online, and verifies the data byte by byte', async () => {
    // Online, with the checkout's CLI: a repository with a snapshot, a key, a signed bundle.
    const s = await onlineScenario(1);
    const key = airlockJson<KeyJson>(['key', 'generate', '--output', join(s.root, 'admin')]);
    const bundle = join(s.media, 'full.airlock');
    airlockOk(['bundle', 'create', '--repo', s.repo, '--snapshot', 'v1', '--sign', key.privateKey, '--output', bundle]);

    // Offline, with the release, and only node on PATH.
    const env = onlyNode;
    const verified = JSON.parse(releaseOk(['bundle', 'verify', bundle, '--key', key.publicKey, '--json'], env).stdout) as { verified: boolean; signedBy: string[] };
    expect(verified.verified).toBe(true);
    expect(verified.signedBy).toEqual([key.keyId]);
    releaseOk(['trust', 'add', key.publicKey, '--data-dir', s.dataDir], env);
    const applied = JSON.parse(releaseOk(['apply', bundle, '--data-dir', s.dataDir, '--json'], env).stdout) as { applied: { to: string; signedBy: string[] } };
    expect(applied.applied.to).toBe(s.ids.v1);
    expect(applied.applied.signedBy).toEqual([key.keyId]);
    const status = JSON.parse(releaseOk(['status', '--data-dir', s.dataDir, '--json'], env).stdout) as { status: { current: { id: string } | null } };
    expect(status.status.current?.id).toBe(s.ids.v1);
    releaseOk(['verify', '--data-dir', s.dataDir, '--deep'], env);

    const live = readTree(s.dataDir);
    const source = readTree(s.mirror);
    expect([...live.keys()].sort()).toEqual([...source.keys()].sort());
    for (const [path, bytes] of source) expect(live.get(path)?.equals(bytes), path).toBe(true);
  });
});
