import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The main job end to end on the embedded default, the fixture upstream: a loopback
 * server with dated CRAN snapshots (Package Manager style, with Linux binaries),
 * Bioconductor and sysreqs. The online host downloads snapshot A, a full bundle goes to
 * the "drive" and is applied offline; the upstream advances to B, one `get` downloads
 * only what changed and writes the delta bundle, which is applied; the offline data is
 * validated (and, when R is installed, read by R itself); finally it is rolled back.
 * Everything is under fixtures/generated/demo/.
 */
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const airlock = join(projectRoot, 'bin', 'airlock.js');
const work = join(projectRoot, 'fixtures', 'generated', 'demo');
const upstreamRoot = join(projectRoot, 'fixtures', 'generated', 'upstream');
const online = join(work, 'online-repo');
const media = join(work, 'usb-drive');
const dataDir = join(work, 'offline-host', 'rspm-offline-data');

function step(title: string, args: string[], expectFailure = false): string {
  process.stdout.write(`\n=== ${title}\n$ airlock ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [airlock, ...args], { encoding: 'utf8' });
  process.stdout.write(run.stdout);
  if (run.stderr) process.stdout.write(run.stderr.replace(/^(?=.)/gm, '  (stderr) '));
  if ((run.status === 0) === expectFailure) {
    process.stderr.write(`demo: step "${title}" ${expectFailure ? 'should have failed' : `failed with exit ${run.status}`}\n`);
    process.exit(1);
  }
  return run.stdout;
}

/** The fixture upstream runs in its own process: airlock is run synchronously from this one. */
async function startUpstream(): Promise<{ url: string; server: ChildProcess }> {
  const server = spawn(process.execPath, [join(projectRoot, 'dist', 'fixtures', 'upstream', 'serve.js'), '--root', upstreamRoot, '--generate'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: server.stdout! });
  const first = await new Promise<string>((resolveLine, reject) => {
    lines.once('line', resolveLine);
    server.once('exit', (code) => reject(new Error(`the fixture upstream exited (${code}) before it listened`)));
  });
  return { url: (JSON.parse(first) as { url: string }).url, server };
}

async function advanceUpstream(url: string): Promise<string> {
  const response = await fetch(`${url}/__control__/today`, { method: 'POST', body: JSON.stringify({ advance: true }) });
  return ((await response.json()) as { today: string }).today;
}

function rCheck(): void {
  const probe = spawnSync('Rscript', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    process.stdout.write('\n=== R is not installed here (apt-get install r-base-core), so R does not read the data in this demo\n');
    return;
  }
  const script = `ap <- available.packages(repos = "file://${dataDir}/v3", type = "source"); cat(nrow(ap), "CRAN packages visible to R, e.g.", head(rownames(ap), 3), "\\n")`;
  process.stdout.write(`\n=== offline: R itself reads the applied data\n$ Rscript -e '${script}'\n`);
  const run = spawnSync('Rscript', ['-e', script], { encoding: 'utf8' });
  process.stdout.write(run.stdout + run.stderr);
  if (run.status !== 0) process.exit(1);
}

async function main(): Promise<void> {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(media, { recursive: true });
  fs.mkdirSync(dirname(dataDir), { recursive: true });
  const { url, server } = await startUpstream();
  try {
    process.stdout.write(`fixture upstream at ${url}: CRAN snapshots (Package Manager style) under /ppm, Bioconductor under /bioc, sysreqs under /sysreqs\n`);
    const cran = ['--base-url', `${url}/ppm`, '--sysreqs-url', `${url}/sysreqs`, '--include-binaries', '--r-versions', '4.4,4.5', '--distributions', 'jammy', '--architectures', 'x86_64'];
    step('online: download CRAN (source, binaries for R 4.4 and 4.5 on jammy) and sysreqs', ['get', 'cran', '--destination', online, ...cran]);
    step('online: add Bioconductor release, recorded as snapshot A', ['get', 'bioconductor', '--destination', online, '--base-url', `${url}/bioc`, '--sysreqs-url', `${url}/sysreqs`, '--versions', 'release', '--label', 'A']);
    step('online: check the download', ['validate', 'cran', '--destination', online, '--packages']);
    step('online: write a full bundle of A onto the drive', ['bundle', 'create', '--repo', online, '--snapshot', 'A', '--output', join(media, 'A.airlock')]);
    step('anywhere: verify the bundle on the drive', ['bundle', 'verify', join(media, 'A.airlock')]);
    step('offline: apply the full bundle', ['apply', join(media, 'A.airlock'), '--data-dir', dataDir]);
    const today = await advanceUpstream(url);
    process.stdout.write(`\nthe upstream advanced to its ${today} snapshot\n`);
    step('online: how much would the next download fetch?', ['get', 'cran', '--destination', online, ...cran, '--dryrun']);
    step('online: download B (only what changed) and write the delta from A for the drive', [
      'get', 'cran', '--destination', online, ...cran, '--label', 'B', '--starting-snapshot', 'A', '--bundle', join(media, 'A-to-B.airlock'),
    ]);
    step('online: what changed', ['snapshot', 'diff', '--repo', online, 'A', 'B']);
    step('anywhere: what the delta carries', ['bundle', 'inspect', join(media, 'A-to-B.airlock')]);
    step('offline: a bundle applied twice is refused', ['apply', join(media, 'A.airlock'), '--data-dir', dataDir], true);
    step('offline: apply the delta', ['apply', join(media, 'A-to-B.airlock'), '--data-dir', dataDir]);
    step('offline: validate CRAN, every archive against PACKAGES', ['validate', 'cran', '--destination', dataDir, '--packages']);
    step('offline: validate Bioconductor', ['validate', 'bioconductor', '--destination', dataDir, '--packages']);
    rCheck();
    step('offline: status', ['status', '--data-dir', dataDir]);
    step('offline: roll back to A', ['rollback', '--data-dir', dataDir]);
    step('offline: status after rollback', ['status', '--data-dir', dataDir]);
    process.stdout.write(`\ndemo complete. The data dir ${dataDir} is a symlink to ${fs.readlinkSync(dataDir)}\n`);
  } finally {
    server.kill('SIGTERM');
  }
}

await main();
