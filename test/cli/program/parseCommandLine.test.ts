import { describe, expect, it } from 'vitest';
import { specOf, type CommandSpec, type Declared } from '../../../src/cli/program/commandSpec.js';
import { parseCommandLine, type ParseOutcome } from '../../../src/cli/program/parseCommandLine.js';
import type { CommandModule } from '../../../src/cli/program/types.js';

/**
 * The command-line reader against a small program shaped like airlock's: a leaf command with
 * a variadic positional, a group with subcommands, options of every kind.
 */
const globals: Declared[] = [
  { name: 'json', global: true, type: 'boolean', default: false },
  { name: 'quiet', global: true, alias: 'q', type: 'boolean', default: false },
];

const apply: CommandModule<never> = {
  command: 'apply <bundle..>',
  describe: 'apply',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', array: true, describe: 'the bundle' })
      .option('data-dir', { type: 'string', default: '/var/lib/x' })
      .option('owner', { type: 'string', alias: 'o' })
      .option('force-full', { type: 'boolean', default: false })
      .option('retries', { type: 'number', default: 5 })
      .option('key', { type: 'string', array: true })
      .option('mode', { choices: ['a', 'b'], default: 'a' })
      .option('distributions', { type: 'string', alias: 'linux-distros' })
      .example('$0 apply F', 'apply F'),
  handler: () => undefined,
};

const create: CommandModule<never> = {
  command: 'create',
  describe: 'create',
  builder: (y) => y.option('repo', { type: 'string', demandOption: true }).option('data-dir', { type: 'string', default: '/d' }).conflicts('repo', 'data-dir'),
  handler: () => undefined,
};

const diff: CommandModule<never> = {
  command: 'diff <from> [to]',
  describe: 'diff',
  handler: () => undefined,
};

const snapshot: CommandModule<never> = {
  command: 'snapshot <command>',
  describe: 'snapshots',
  builder: (y) => y.command(create).command(diff),
  handler: () => undefined,
};

function root(): CommandSpec {
  return specOf({ command: 'airlock <command>', describe: '', builder: (y) => y.command(apply).command(snapshot), handler: () => undefined }, globals);
}

const parse = (...argv: string[]): ParseOutcome => parseCommandLine(root(), argv);

function args(...argv: string[]): Record<string, unknown> {
  const out = parse(...argv);
  if (out.kind !== 'run') throw new Error(`expected a run of ${argv.join(' ')}, got ${JSON.stringify(out)}`);
  return out.args;
}

function error(...argv: string[]): string {
  const out = parse(...argv);
  if (out.kind !== 'error') throw new Error(`expected an error for ${argv.join(' ')}, got ${out.kind}`);
  return out.message;
}

describe('parseCommandLine', () => {
  it('gives each option and positional by name, defaults filled in, and the command path as _', () => {
    expect(args('apply', 'a.airlock', 'b.airlock', '--owner', 'u:g', '--retries=3')).toEqual({
      _: ['apply'],
      bundle: ['a.airlock', 'b.airlock'],
      json: false,
      quiet: false,
      'data-dir': '/var/lib/x',
      owner: 'u:g',
      'force-full': false,
      retries: 3,
      mode: 'a',
    });
    expect(args('snapshot', 'diff', 'v1')).toMatchObject({ _: ['snapshot', 'diff'], from: 'v1' });
    expect(args('snapshot', 'diff', 'v1')).not.toHaveProperty('to');
    expect(args('snapshot', 'diff', 'v1', 'v2')).toMatchObject({ from: 'v1', to: 'v2' });
  });

  it('reads booleans as --x, --no-x, --x=true|false and --x false', () => {
    expect(args('apply', 'F', '--force-full')['force-full']).toBe(true);
    expect(args('apply', 'F', '--no-force-full')['force-full']).toBe(false);
    expect(args('apply', 'F', '--force-full=false')['force-full']).toBe(false);
    expect(args('apply', 'F', '--force-full', 'false')['force-full']).toBe(false);
    expect(args('apply', '--force-full', 'F')).toMatchObject({ 'force-full': true, bundle: ['F'] });
    expect(error('apply', 'F', '--force-full=yes')).toMatch(/--force-full is true or false, not "yes"/);
    expect(error('apply', 'F', '--no-owner')).toMatch(/unknown option --no-owner/);
  });

  it('takes short and long aliases under the option\'s own name, and global options anywhere', () => {
    expect(args('apply', 'F', '-o', 'u:g', '--linux-distros=jammy', '-q')).toMatchObject({ owner: 'u:g', distributions: 'jammy', quiet: true });
    expect(args('--json', 'apply', 'F').json).toBe(true);
    expect(args('snapshot', '--json', 'create', '--repo', 'r').json).toBe(true);
  });

  it('collects a repeatable option, and refuses any other option given twice', () => {
    expect(args('apply', 'F', '--key', 'a.pub', '--key=b.pub').key).toEqual(['a.pub', 'b.pub']);
    expect(error('apply', 'F', '--owner', 'a', '--owner', 'b')).toMatch(/--owner is given twice/);
    expect(error('apply', 'F', '-o', 'a', '--owner', 'b')).toMatch(/--owner is given twice/);
    expect(args('apply', 'F', '--json', '--json').json).toBe(true);
    expect(args('apply', 'F', '--force-full', '--no-force-full')['force-full']).toBe(false);
  });

  it('a repeatable option takes every word after it, up to the next option, as yargs did', () => {
    expect(args('apply', 'F.airlock', '--key', 'a.pub', 'b.pub', '--key', 'c.pub', '--json')).toMatchObject({ key: ['a.pub', 'b.pub', 'c.pub'], bundle: ['F.airlock'], json: true });
    expect(args('apply', 'F.airlock', '--key=a.pub', 'G.airlock')).toMatchObject({ key: ['a.pub'], bundle: ['F.airlock', 'G.airlock'] });
    expect(error('apply', '--key', 'a.pub', 'F.airlock')).toMatch(/`airlock apply` needs <bundle>/);
  });

  it('takes options given before the command they belong to, as yargs did', () => {
    expect(args('--owner', 'u:g', 'apply', 'F')).toMatchObject({ owner: 'u:g', bundle: ['F'] });
    expect(args('--force-full', 'apply', 'F')).toMatchObject({ 'force-full': true, bundle: ['F'] });
    expect(args('snapshot', '--repo', 'r', 'create')).toMatchObject({ _: ['snapshot', 'create'], repo: 'r' });
    expect(args('--retries=2', 'apply', 'F').retries).toBe(2);
    expect(error('--nope', 'x', 'apply', 'F')).toMatch(/unknown option --nope for `airlock apply`/);
    expect(error('--force-full', 'x', 'apply', 'F')).toMatch(/unexpected "x" after --force-full/);
    expect(error('--owner', 'u:g')).toMatch(/name a command/);
  });

  it('reads --camelCase names, grouped one-letter flags, and a one-letter alias only after one dash', () => {
    expect(args('apply', 'F', '--dataDir', '/x', '--forceFull')).toMatchObject({ 'data-dir': '/x', 'force-full': true });
    expect(args('apply', 'F', '-qq')).toMatchObject({ quiet: true });
    expect(error('apply', 'F', '-qo')).toMatch(/unknown option -qo/);
    expect(error('apply', 'F', '-linux-distros=jammy')).toMatch(/unknown option -linux-distros/);
    expect(error('apply', 'F', '-owner', 'x')).toMatch(/unknown option -owner/);
  });

  it('refuses a value that is missing, of the wrong kind or outside the choices', () => {
    expect(error('apply', 'F', '--owner')).toMatch(/--owner needs a value/);
    expect(error('apply', 'F', '--owner', '--force-full')).toMatch(/--owner needs a value/);
    expect(error('apply', 'F', '--retries', 'many')).toMatch(/--retries takes a number, not "many"/);
    expect(error('apply', 'F', '--retries=')).toMatch(/--retries takes a number/);
    expect(error('apply', 'F', '--mode', 'c')).toMatch(/--mode is one of a, b, not "c"/);
    expect(args('apply', 'F', '--retries', '-1').retries).toBe(-1);
    expect(args('apply', 'F', '--owner', '-5').owner).toBe('-5');
    expect(args('apply', 'F', '--owner=-x').owner).toBe('-x');
    expect(args('apply', '-', '--owner', 'u')).toMatchObject({ bundle: ['-'] });
  });

  it('refuses what it does not know, with the nearest name', () => {
    expect(error('apply', 'F', '--ownr', 'x')).toMatch(/unknown option --ownr for `airlock apply`\. Did you mean --owner\?/);
    expect(error('apply', 'F', '--zzz')).toMatch(/unknown option --zzz for `airlock apply`$/);
    expect(error('aply', 'F')).toMatch(/`airlock` has no command "aply"\. Did you mean apply\?/);
    expect(error('snapshot', 'craete')).toMatch(/`airlock snapshot` has no command "craete"\. Did you mean create\?/);
    expect(error('snapshot', 'xyzzy')).toMatch(/It has: create, diff/);
    expect(error('snapshot', 'diff', 'a', 'b', 'c')).toMatch(/unexpected "c" after `airlock snapshot diff`/);
  });

  it('needs what is required: a command, a subcommand, required options and positionals', () => {
    expect(error()).toMatch(/name a command; `airlock --help` lists them/);
    expect(error('snapshot')).toMatch(/`airlock snapshot` needs one of its commands: create, diff/);
    expect(error('snapshot', 'create')).toMatch(/`airlock snapshot create` needs --repo/);
    expect(error('apply')).toMatch(/`airlock apply` needs <bundle>: the bundle/);
    expect(error('snapshot', 'diff')).toMatch(/needs <from>/);
  });

  it('refuses two options that exclude each other only when both are given', () => {
    expect(error('snapshot', 'create', '--repo', 'r', '--data-dir', 'd')).toMatch(/--repo and --data-dir cannot be given together/);
    expect(args('snapshot', 'create', '--repo', 'r')).toMatchObject({ repo: 'r', 'data-dir': '/d' });
  });

  it('-- ends the options', () => {
    expect(args('apply', '--', '--force-full')).toMatchObject({ bundle: ['--force-full'], 'force-full': false });
  });

  it('answers --help and -h with the help of the command reached, even on a line with mistakes', () => {
    for (const argv of [['--help'], ['apply', '-h'], ['apply', '--nope', '--help'], ['snapshot', 'create', '--help'], ['snapshot', '-h'], ['-h', 'apply', 'F']]) {
      const out = parse(...argv);
      expect(out.kind, argv.join(' ')).toBe('help');
      if (out.kind === 'help') expect(out.path, argv.join(' ')).toEqual(argv.filter((a) => ['apply', 'snapshot', 'create'].includes(a)));
    }
  });

  it('answers --version wherever it is, as yargs did', () => {
    expect(parse('--version').kind).toBe('version');
    expect(parse('apply', 'F', '--version').kind).toBe('version');
    expect(parse('snapshot', '--version').kind).toBe('version');
  });

  it('shows a word nobody typed by hand cut short, with no suggestion', () => {
    expect(error('apply', 'F', `--${'a'.repeat(200_000)}`)).toMatch(/^unknown option --a{62}… for `airlock apply`$/);
    expect(error('x'.repeat(200_000))).toMatch(/^`airlock` has no command "x{64}…"\. It has: apply, snapshot$/);
  });
});
