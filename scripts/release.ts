import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileDurable } from '../src/fs/durable.js';
import { ReleaseError } from './release/releaseError.js';
import { smokeTest } from './release/smokeTest.js';
import { stageRelease } from './release/stageRelease.js';
import { writeTarball } from './release/writeTarball.js';

/**
 * `npm run release`: airlock itself crossing the air gap. Builds one tarball,
 * `airlock-<version>-<platform>-<arch>.tar.gz`, holding the compiled code, launchers,
 * docs and every runtime package with its native addons as built in this checkout, so
 * the air-gapped host needs Node.js and nothing from npm. Before the tarball takes its
 * name, it is unpacked elsewhere and run with nothing of this checkout in reach
 * (scripts/release/smokeTest.ts). Writes `<tarball>.sha256` and `<tarball>.b3` as
 * sha256sum and b3sum print them, for `sha256sum -c` / `b3sum -c` on the other side.
 */

const USAGE = `usage: node dist/scripts/release.js [--output DIR]

Builds release/airlock-<version>-<platform>-<arch>.tar.gz (or in DIR) with its .sha256 and
.b3 sums. Run through \`npm run release\`, which compiles first.`;

/** dist/scripts/release.js -> the project root. */
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function parseArgs(argv: string[]): { output: string } {
  let output = join(projectRoot, 'release');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--output' && argv[i + 1] !== undefined) {
      output = resolve(argv[++i]!);
    } else if (arg.startsWith('--output=')) {
      output = resolve(arg.slice('--output='.length));
    } else {
      throw new ReleaseError(`unknown argument ${JSON.stringify(arg)}`, USAGE);
    }
  }
  return { output };
}

/**
 * `linux-x64` as node names them, plus `-musl` on a musl libc (Alpine): the native
 * addons are linked against the C library they were built on (blake-hash ships separate
 * -gnu and -musl packages, zstd-napi is compiled here), so a glibc build does not run on
 * musl or the other way round. glibcVersionRuntime is in node's report on glibc only.
 */
function platformTag(): string {
  const tag = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return tag;
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ? tag : `${tag}-musl`;
}

function within(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function release(argv: string[]): Promise<void> {
  const started = Date.now();
  const { output } = parseArgs(argv);
  const { version } = JSON.parse(fs.readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const top = `airlock-${version}-${platformTag()}`;
  const file = `${top}.tar.gz`;
  const tarball = join(output, file);

  // The check must not find the checkout's node_modules by walking up from the unpacked release.
  const temp = fs.realpathSync(tmpdir());
  if (within(projectRoot, temp)) {
    throw new ReleaseError(`the temporary folder ${temp} is inside the checkout ${projectRoot}, so the release check could load the checkout's packages`, 'set TMPDIR to a folder outside the checkout (e.g. TMPDIR=/tmp)');
  }

  fs.mkdirSync(output, { recursive: true });
  const stage = fs.mkdtempSync(join(temp, 'airlock-release-stage-'));
  // Written under a temporary name in the output folder (same filesystem, so the final
  // rename is atomic): a failed or interrupted run never leaves a tarball with the real name.
  const partial = join(output, `.${file}.partial-${process.pid}`);
  try {
    const staged = stageRelease(projectRoot, stage, top, version);
    process.stdout.write(`staged ${top}: ${staged.files} files, ${staged.packages.length} runtime packages (${Date.now() - started} ms)\n`);
    const written = await writeTarball(stage, top, partial);
    process.stdout.write(`wrote the tarball, ${mib(written.bytes)}; checking it runs unpacked, with nothing of the checkout in reach...\n`);
    const checked = smokeTest(partial, top, version);
    process.stdout.write(`  native addons load from the release: ${checked.nativeAddons.join(', ')}\n`);

    fs.renameSync(partial, tarball);
    await writeFileDurable(`${tarball}.sha256`, `${written.sha256}  ${file}\n`);
    await writeFileDurable(`${tarball}.b3`, `${written.blake3}  ${file}\n`);
    process.stdout.write(
      [
        `${relative(process.cwd(), tarball) || tarball}  ${mib(written.bytes)} (${written.bytes} bytes), built in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        `  sha256  ${written.sha256}`,
        `  blake3  ${written.blake3}`,
        `  check:  cd ${output} && sha256sum -c ${file}.sha256 && b3sum -c ${file}.b3`,
        '',
      ].join('\n'),
    );
  } finally {
    fs.rmSync(partial, { force: true });
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

try {
  await release(process.argv.slice(2));
} catch (err) {
  if (err instanceof ReleaseError) {
    process.stderr.write(`release: error: ${err.message}\n  next:  ${err.hint}\n`);
  } else {
    process.stderr.write(`release: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n  next:  this is a bug in scripts/release.ts; report it with the output above\n`);
  }
  process.exitCode = 1;
}
