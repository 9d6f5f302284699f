import type { CommandSpec, Declared } from './commandSpec.js';

export interface HelpContext {
  /** The program's name, which replaces $0 in examples and starts every command line shown. */
  program: string;
  /** The words of the command reached ([] for the program itself). */
  path: string[];
  width: number;
}

/**
 * `--help` of the program or of one command: usage, what it does, its commands, positionals
 * and options, and examples. Each example's command line is on a line of its own, never
 * wrapped, so it can be copied whole; its description follows, indented.
 */
export function helpText(spec: CommandSpec, context: HelpContext): string {
  const { program, path, width } = context;
  const prefix = [program, ...path].join(' ');
  const out: string[] = [];
  // The program's spec is its own command line ('airlock <command>'); a command's is its words after its parent's.
  const usage = path.length === 0 ? spec.usage : [program, ...path.slice(0, -1), spec.usage].join(' ');
  out.push(usage + (spec.subcommands.length === 0 ? ' [options]' : ''), '', ...wrap(spec.describe, width), '');
  if (spec.subcommands.length > 0) {
    const rows = spec.subcommands.map((m): [string, string] => [`${prefix} ${m.command}`, m.describe]);
    out.push('Commands:', ...table(rows, width), '');
  }
  if (spec.positionals.length > 0) {
    out.push('Positionals:', ...table(spec.positionals.map((p) => [p.name, withNotes(p.describe ?? '', notes(p))]), width), '');
  }
  // The command's own options first, then the ones every command has.
  const ordered = [...spec.options.filter((o) => !o.global), ...spec.options.filter((o) => o.global)];
  const own = ordered.map((o): [string, string] => [flags(o), withNotes(o.describe ?? '', notes(o))]);
  own.push(['-h, --help', 'show this help']);
  if (path.length === 0) own.push(['    --version', 'show the version number']);
  out.push('Options:', ...table(own, width), '');
  if (spec.examples.length > 0) {
    out.push('Examples:');
    for (const e of spec.examples) out.push(`  ${e.command.replaceAll('$0', program)}`, ...wrap(e.description, width - 6).map((l) => `      ${l}`));
    out.push('');
  }
  return out.join('\n');
}

function flags(o: Declared): string {
  const value = o.type === 'boolean' ? '' : o.type === 'number' ? ' <number>' : ' <value>';
  const long = `--${o.name}${value}`;
  if (o.alias === undefined) return `    ${long}`;
  return o.alias.length === 1 ? `-${o.alias}, ${long}` : `    ${long}, --${o.alias}`;
}

function notes(o: Declared & { required?: boolean }): string[] {
  const n: string[] = [];
  if (o.choices) n.push(`one of: ${o.choices.join(', ')}`);
  if (o.array) n.push('repeatable');
  if (o.demandOption || o.required) n.push('required');
  if (o.default !== undefined && o.default !== false) n.push(`default: ${String(o.default)}`);
  return n;
}

function withNotes(text: string, n: string[]): string {
  const joined = n.length === 0 ? '' : `[${n.join('; ')}]`;
  return text && joined ? `${text} ${joined}` : text || joined;
}

/** Two columns: names padded to the widest (at most 36), descriptions wrapped beside them. */
function table(rows: Array<[string, string]>, width: number): string[] {
  const left = Math.min(36, Math.max(...rows.map(([name]) => name.length)));
  const right = Math.max(30, width - left - 4);
  const lines: string[] = [];
  for (const [name, text] of rows) {
    const wrapped = wrap(text, right);
    if (name.length > left) {
      lines.push(`  ${name}`);
      for (const l of wrapped) lines.push(`  ${' '.repeat(left)}  ${l}`);
      continue;
    }
    wrapped.forEach((l, i) => lines.push(`  ${(i === 0 ? name : '').padEnd(left)}  ${l}`.trimEnd()));
  }
  return lines;
}

/** Words to lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0 || lines.length === 0) lines.push(line);
  return lines;
}
