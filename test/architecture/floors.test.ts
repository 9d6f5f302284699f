import * as fs from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/cli.js';

/**
 * The floors of src/ (docs/architecture.md): a module imports its own folder and the floors
 * below it, never one above, and never a neighbour on its own floor (online and offline do not
 * reach into each other). core/ is pure: no filesystem, network or child processes. Read from
 * the import lines themselves; a new folder fails here until it is given a floor.
 */
const FLOORS: Record<string, number> = {
  'errors.ts': 0,
  core: 1,
  fs: 2,
  'version.ts': 2,
  repository: 3,
  trust: 3,
  upstream: 3,
  bundle: 4,
  deployment: 4,
  online: 5,
  offline: 5,
  serve: 5,
  cli: 6,
};

/** What core/ may never import: it computes, the edges do the I/O. */
const IMPURE = /^(node:)?(fs|fs\/promises|net|child_process|http|https|http2|dgram|dns|tls|worker_threads|cluster)$|^undici$/;

const src = join(projectRoot, 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    specs.push((m[1] ?? m[2] ?? m[3])!);
  }
  return specs;
}

/** The floor name of a file under src/: its top folder, or its own name at the top. */
function floorOf(file: string): string {
  return relative(src, file).split('/')[0]!;
}

interface Violation {
  file: string;
  imports: string;
  why: string;
}

function violations(): Violation[] {
  const found: Violation[] = [];
  for (const file of sourceFiles(src)) {
    const from = floorOf(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const spec of importsOf(text)) {
      const where = relative(src, file);
      if (!spec.startsWith('.')) {
        if (from === 'core' && IMPURE.test(spec)) found.push({ file: where, imports: spec, why: 'core/ is pure: no filesystem, network or processes' });
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const to = floorOf(target);
      if (to === from) continue;
      const rankFrom = FLOORS[from];
      const rankTo = FLOORS[to];
      if (rankFrom === undefined || rankTo === undefined) found.push({ file: where, imports: spec, why: `${rankFrom === undefined ? from : to} has no floor in this test (and docs/architecture.md)` });
      else if (rankTo > rankFrom) found.push({ file: where, imports: spec, why: `${from} (floor ${rankFrom}) imports ${to}, a floor above (${rankTo})` });
      else if (rankTo === rankFrom) found.push({ file: where, imports: spec, why: `${from} and ${to} share floor ${rankFrom}: neighbours do not import each other` });
    }
  }
  return found;
}

describe('the floors of src/', () => {
  it('reads every kind of import line', () => {
    const text = [
      "import * as fs from 'node:fs';",
      "import type { A } from './a.js';",
      "export { b } from '../b.js';",
      "import './side-effect.js';",
      "const m = await import('../dynamic.js');",
      'import {\n  c,\n  d,\n} from "../multi.js";',
    ].join('\n');
    expect(importsOf(text)).toEqual(['node:fs', './a.js', '../b.js', './side-effect.js', '../multi.js', '../dynamic.js'].sort((a, b) => text.indexOf(a) - text.indexOf(b)));
  });

  it('gives every folder of src/ a floor', () => {
    const folders = fs.readdirSync(src);
    expect(folders.filter((f) => FLOORS[f] === undefined)).toEqual([]);
  });

  it('has no import running upward or sideways, and no I/O in core/', () => {
    expect(violations()).toEqual([]);
  });

  it('would catch one: the rules refuse an upward, a sideways and an impure import', () => {
    const dir = join(src, 'core');
    const probe = join(dir, '__floor_probe__.ts');
    const probe2 = join(src, 'online', '__floor_probe__.ts');
    fs.writeFileSync(probe, "import * as fs from 'node:fs';\nimport { runGet } from '../online/get.js';\n");
    fs.writeFileSync(probe2, "import { applyBundle } from '../offline/apply.js';\n");
    try {
      const found = violations().filter((v) => v.file.includes('__floor_probe__'));
      expect(found.map((v) => `${v.file} ${v.imports}`).sort()).toEqual(['core/__floor_probe__.ts ../online/get.js', 'core/__floor_probe__.ts node:fs', 'online/__floor_probe__.ts ../offline/apply.js']);
    } finally {
      fs.rmSync(probe, { force: true });
      fs.rmSync(probe2, { force: true });
    }
  });
});
