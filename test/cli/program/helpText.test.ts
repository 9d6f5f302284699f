import { describe, expect, it } from 'vitest';
import { specOf, type Declared } from '../../../src/cli/program/commandSpec.js';
import { helpText, wrap } from '../../../src/cli/program/helpText.js';
import type { CommandModule } from '../../../src/cli/program/types.js';

const globals: Declared[] = [{ name: 'json', global: true, type: 'boolean', default: false, describe: 'print JSON' }];
const long = 'airlock apply /media/usb/a-very-long-bundle-name-that-goes-on.airlock --data-dir /var/lib/rspm-offline-data --owner rstudio-pm:rstudio-pm';

const apply: CommandModule<never> = {
  command: 'apply <bundle..>',
  describe: 'verify a bundle completely, then switch the data dir to its snapshot in one atomic step',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', array: true, describe: 'the bundle file, or all its volumes' })
      .option('data-dir', { type: 'string', default: '/var/lib/rspm-offline-data', describe: 'the path Package Manager reads' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'where' })
      .option('retries', { type: 'number', default: 5, describe: 'retries per file for 5xx, resets, timeouts and bad bodies, and a few words more to wrap' })
      .option('mode', { choices: ['a', 'b'], default: 'a', describe: 'which' })
      .option('key', { type: 'string', array: true, describe: 'a key' })
      .example(long.replace('airlock', '$0'), 'the usual update, described at length so that the description needs more than one line of the help'),
  handler: () => undefined,
};

describe('help text', () => {
  const text = helpText(specOf(apply, globals), { program: 'airlock', path: ['apply'], width: 60 });
  const lines = text.split('\n');

  it('shows usage, description, positionals, options (own first) and examples', () => {
    expect(lines[0]).toBe('airlock apply <bundle..> [options]');
    const sections = lines.filter((l) => /^[A-Z][a-z]+:$/.test(l));
    expect(sections).toEqual(['Positionals:', 'Options:', 'Examples:']);
    const options = lines.slice(lines.indexOf('Options:') + 1).filter((l) => /^ {2}(?:-[a-z], | {4})--/.test(l));
    expect(options.map((l) => /--[a-z-]+/.exec(l)![0])).toEqual(['--data-dir', '--output', '--retries', '--mode', '--key', '--json', '--help']);
    expect(text).toContain('-o, --output <value>');
    expect(text).toContain('--retries <number>');
    expect(text).toMatch(/\[default: 5\]/);
    expect(text).toMatch(/\[required\]/);
    expect(text).toMatch(/\[one of: a, b; default: a\]/);
    expect(text).toMatch(/\[repeatable\]/);
    // A boolean that defaults to false says nothing of its default.
    expect(lines.find((l) => l.includes('--json'))).not.toMatch(/default/);
  });

  it('keeps each example command on one line, and wraps everything else to the width', () => {
    expect(lines).toContain(`  ${long}`);
    for (const line of lines) if (line !== `  ${long}`) expect(line.length, line).toBeLessThanOrEqual(60);
    const at = lines.indexOf(`  ${long}`);
    expect(lines[at + 1]).toMatch(/^ {6}the usual update/);
    expect(lines[at + 2]).toMatch(/^ {6}\S/);
  });

  it('lists subcommands with their full command line, and the program\'s own usage at the top', () => {
    const group: CommandModule<never> = { command: 'bundle <command>', describe: 'bundles', builder: (y) => y.command(apply), handler: () => undefined };
    const top = helpText(specOf({ command: 'airlock <command>', describe: 'Moves things.', builder: (y) => y.command(group), handler: () => undefined }, globals), { program: 'airlock', path: [], width: 80 });
    expect(top.split('\n').slice(0, 3)).toEqual(['airlock <command>', '', 'Moves things.']);
    expect(top).toMatch(/^ {2}airlock bundle <command> +bundles$/m);
    expect(top).toMatch(/--version/);
    const sub = helpText(specOf(group, globals), { program: 'airlock', path: ['bundle'], width: 80 });
    expect(sub).toMatch(/^ {2}airlock bundle apply <bundle\.\.> +verify a bundle/m);
    expect(sub).not.toMatch(/--version/);
  });

  it('wraps words, and gives a word longer than the width a line of its own', () => {
    expect(wrap('a bb ccc dddd', 6)).toEqual(['a bb', 'ccc', 'dddd']);
    expect(wrap('tiny averyveryverylongword end', 8)).toEqual(['tiny', 'averyveryverylongword', 'end']);
    expect(wrap('', 10)).toEqual(['']);
  });
});
