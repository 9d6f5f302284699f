import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PARSE_ONLY_ENV } from '../../src/cli/context.js';
import { airlockBin, airlockRun, downloaderBin } from '../helpers/cli.js';

/**
 * `<program> <command> [<subcommand>] --help` shows an Examples section for every command
 * the program lists, and every example is a command line the program accepts. Commands are
 * found from the help output itself, so a command added later is covered without touching
 * this file. `--help` skips the checks, so each example is parsed instead with
 * AIRLOCK_PARSE_ONLY=1: strict parsing (unknown flags, missing or conflicting options exit 2),
 * then the parsed arguments are printed instead of running the command.
 */

interface Program {
  name: string;
  bin: string;
}

const programs: Program[] = [
  { name: 'airlock', bin: airlockBin },
  { name: 'rspm-offline-downloader', bin: downloaderBin },
];

/** The command names a help text lists under "Commands:" for `prefix` (e.g. "airlock bundle"). */
function commandsIn(help: string, prefix: string): string[] {
  const names: string[] = [];
  for (const line of section(help, 'Commands:')) {
    if (!line.startsWith(`  ${prefix} `)) continue;
    const name = line.slice(prefix.length + 3).split(/\s+/)[0]!;
    if (/^[a-z][a-z0-9-]*$/.test(name)) names.push(name);
  }
  return names;
}

/** The lines of a help section, up to the blank line that ends it. */
function section(help: string, title: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/**
 * The example command lines of a help text. A line indented by exactly two spaces carries a
 * command (or, in a two-column layout wrapped to the terminal's width, a piece of one, then,
 * after two or more spaces, a piece of its description); a line indented further carries only
 * description. A new example starts with the program's name.
 */
function examplesIn(help: string, program: string): string[] {
  const examples: string[] = [];
  for (const line of section(help, 'Examples:')) {
    if (!line.startsWith('  ') || line.startsWith('   ')) continue;
    const piece = line.slice(2).split(/\s{2,}/)[0]!.trim();
    if (piece.startsWith(`${program} `) || examples.length === 0) examples.push(piece);
    else examples[examples.length - 1] += ` ${piece}`;
  }
  return examples;
}

/** Splits a command line as sh would, for the quoting examples use ('...' and "..."). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of line.matchAll(pattern)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/** A parent and its subcommands often show the same example: each distinct line is parsed once. */
const parses = new Map<string, ReturnType<typeof airlockRun>>();

function parseOnce(program: Program, args: string[]): ReturnType<typeof airlockRun> {
  const key = JSON.stringify([program.bin, args]);
  let run = parses.get(key);
  if (!run) {
    run = airlockRun(args, { [PARSE_ONLY_ENV]: '1' }, { bin: program.bin });
    parses.set(key, run);
  }
  return run;
}

/** Runs `<program> <path...> --help`, checks its examples, and checks each one parses to this command; returns the help. */
async function checkHelp(program: Program, path: string[]): Promise<string> {
  const command = [program.name, ...path].join(' ');
  const run = await airlockRun([...path, '--help'], {}, { bin: program.bin });
  expect(run.status, `${command} --help: ${run.stderr}`).toBe(0);
  const examples = examplesIn(run.stdout, program.name);
  expect(examples.length, `${command} --help shows no Examples section:\n${run.stdout}`).toBeGreaterThan(0);
  const own = examples.filter((e) => `${e} `.startsWith(`${command} `));
  expect(own.length, `no example of \`${command} --help\` runs \`${command}\`: ${examples.join(' | ')}`).toBeGreaterThan(0);
  for (const example of examples) {
    const words = shellWords(example);
    expect(words[0], example).toBe(program.name);
    const parsed = await parseOnce(program, words.slice(1));
    expect(parsed.status, `the example \`${example}\` does not parse:\n${parsed.stderr}`).toBe(0);
    const args = (JSON.parse(parsed.stdout) as { parsed: { _: string[] } }).parsed;
    // It reached a command that runs (not a parent that only lists subcommands), and the one it names.
    expect(args._, example).toEqual(words.slice(1, 1 + args._.length));
    // An example of this command reaches this command (or, for a parent, one of its subcommands).
    if (own.includes(example)) expect(args._.slice(0, path.length), example).toEqual(path);
  }
  return run.stdout;
}

for (const program of programs) {
  describe(`${program.name} <command> --help`, () => {
    // Read while the tests are collected: one test per command follows.
    const commands = commandsIn(spawnSync(process.execPath, [program.bin, '--help'], { encoding: 'utf8' }).stdout, program.name);

    it('lists its commands', () => {
      expect(commands.length).toBeGreaterThanOrEqual(program.name === 'airlock' ? 13 : 2);
      if (program.name === 'rspm-offline-downloader') expect([...commands].sort()).toEqual(['get', 'validate']);
    });

    it.concurrent.each(commands)(`${program.name} %s, and each of its subcommands, shows examples that parse`, async (name) => {
      const help = await checkHelp(program, [name]);
      const subcommands = commandsIn(help, `${program.name} ${name}`);
      for (const sub of subcommands) await checkHelp(program, [name, sub]);
    });
  });
}

describe('the help-text readers this test relies on', () => {
  it('reassembles examples wrapped across lines, and leaves descriptions out', () => {
    const help = [
      'Examples:',
      '  airlock bundle create --repo /srv/airlock           signed, for a host that trusts',
      '  --starting-snapshot 2026-11-01 --sign               the key',
      '  /root/airlock-signing.key --output',
      '  /media/usb/delta.airlock',
      '                                                      and more description',
      '  airlock bundle inspect /media/usb/delta.airlock',
      '',
    ].join('\n');
    expect(examplesIn(help, 'airlock')).toEqual([
      'airlock bundle create --repo /srv/airlock --starting-snapshot 2026-11-01 --sign /root/airlock-signing.key --output /media/usb/delta.airlock',
      'airlock bundle inspect /media/usb/delta.airlock',
    ]);
    expect(shellWords(`airlock snapshot create --label 'a b' --from "x y" z`)).toEqual(['airlock', 'snapshot', 'create', '--label', 'a b', '--from', 'x y', 'z']);
  });

  it('finds no examples where there are none, and a usage error where an example is wrong', async () => {
    expect(examplesIn('airlock status\n\nOptions:\n  --json\n', 'airlock')).toEqual([]);
    const wrong = await airlockRun(['status', '--data-dir', '/x', '--no-such-flag'], { [PARSE_ONLY_ENV]: '1' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('unknown option --no-such-flag');
  });
});
