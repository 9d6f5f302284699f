import { commandName, specOf, type CommandSpec, type Declared } from './commandSpec.js';
import { closest } from './suggest.js';

export type ParseOutcome =
  | { kind: 'run'; spec: CommandSpec; path: string[]; args: Record<string, unknown> }
  | { kind: 'help'; spec: CommandSpec; path: string[] }
  | { kind: 'version' }
  | { kind: 'error'; message: string; path: string[] };

class UsageProblem extends Error {}

/**
 * Reads a command line against the commands' declarations, strictly: an unknown option or a
 * word left over is an error, as is a missing required option or positional, a value of the
 * wrong kind or outside its choices, two options that exclude each other, and an option with a
 * value given twice that is not repeatable (a boolean flag may be repeated: the last counts).
 *
 * What yargs accepted, so that scripts written against it keep working:
 * - `--name value` and `--name=value`; `--camelCase` for `--camel-case`; `-o value`; `-qv`;
 * - a boolean as `--name`, `--no-name`, `--name=true|false` or `--name true|false`;
 * - a repeatable option takes every word after it up to the next option (`--key a.pub b.pub`),
 *   and may be repeated;
 * - options anywhere after the program's name, also before the command they belong to
 *   (`airlock --data-dir D status`); `--help`/`-h` and `--version` anywhere;
 * - `--` ends the options; `-` alone is a word (a file named so), as is a negative number.
 * A value may not start with '-' unless it is a number or given with '=', so a forgotten value
 * is not mistaken for the next option.
 */
export function parseCommandLine(root: CommandSpec, argv: readonly string[]): ParseOutcome {
  const state = new ParseState(root);
  try {
    state.read(argv);
    if (state.help) return { kind: 'help', spec: state.spec, path: state.path };
    if (state.version) return { kind: 'version' };
    return { kind: 'run', spec: state.spec, path: state.path, args: state.finish() };
  } catch (err) {
    if (!(err instanceof UsageProblem)) throw err;
    // Asked for help (perhaps after the mistake), the help of the command reached is the answer.
    if (argv.some((a) => a === '--help' || a === '-h')) return { kind: 'help', spec: state.spec, path: state.path };
    return { kind: 'error', message: err.message, path: state.path };
  }
}

/** How much of a word a message repeats. */
const SHOWN_LENGTH = 64;

function shown(word: string): string {
  return word.length > SHOWN_LENGTH ? `${word.slice(0, SHOWN_LENGTH)}…` : word;
}

class ParseState {
  spec: CommandSpec;
  path: string[] = [];
  help = false;
  version = false;
  private readonly words: string[] = [];
  /** Values by option name, as given. */
  private readonly given = new Map<string, unknown>();
  /** Options met before the command they belong to was reached, each with the word after it, read again once it is. */
  private deferred: string[][] = [];
  /** Set while a deferred option is read again: its word must be its value, not a positional. */
  private rereading: string | null = null;

  constructor(private readonly root: CommandSpec) {
    this.spec = root;
  }

  private get command(): string {
    return [this.root.name, ...this.path].join(' ');
  }

  read(argv: readonly string[]): void {
    let optionsEnded = false;
    for (let i = 0; i < argv.length; i++) {
      const token = argv[i]!;
      if (optionsEnded || !looksLikeOption(token)) {
        this.word(token);
        continue;
      }
      if (token === '--') {
        optionsEnded = true;
        continue;
      }
      if (token === '--help' || token === '-h') {
        this.help = true;
        continue;
      }
      if (token === '--version') {
        this.version = true;
        continue;
      }
      const eq = token.indexOf('=');
      const flag = eq < 0 ? token : token.slice(0, eq);
      const inline = eq < 0 ? undefined : token.slice(eq + 1);
      if (/^-[a-zA-Z]{2,}$/.test(flag) && inline === undefined && this.readShortGroup(flag)) continue;
      const found = this.lookup(flag);
      if (!found) {
        if (this.spec.subcommands.length > 0 && flag.startsWith('--')) {
          // Perhaps an option of the command named further on: kept, with the word after it (which may be its value).
          const next = argv[i + 1];
          const takesNext = inline === undefined && next !== undefined && !looksLikeOption(next) && !this.spec.subcommands.some((m) => commandName(m) === next);
          this.deferred.push(takesNext ? [token, argv[++i]!] : [token]);
          continue;
        }
        throw new UsageProblem(this.unknownOption(flag));
      }
      const { option, negated } = found;
      if (negated) {
        if (inline !== undefined) throw new UsageProblem(`${flag} takes no value`);
        this.set(option, false, flag);
        continue;
      }
      if (option.type === 'boolean') {
        if (inline !== undefined) {
          if (inline !== 'true' && inline !== 'false') throw new UsageProblem(`${flag} is true or false, not "${inline}"`);
          this.set(option, inline === 'true', flag);
        } else if (argv[i + 1] === 'true' || argv[i + 1] === 'false') {
          this.set(option, argv[++i] === 'true', flag);
        } else {
          this.set(option, true, flag);
        }
        continue;
      }
      let raw = inline;
      if (raw === undefined) {
        const next = argv[i + 1];
        if (next === undefined || looksLikeOption(next)) throw new UsageProblem(`${flag} needs a value${option.describe ? ` (${option.describe})` : ''}`);
        raw = next;
        i++;
      }
      this.set(option, this.convert(option, raw, flag), flag);
      if (option.array && inline === undefined) {
        while (i + 1 < argv.length && !looksLikeOption(argv[i + 1]!)) this.set(option, this.convert(option, argv[++i]!, flag), flag);
      }
    }
    if (this.deferred.length > 0 && this.spec.subcommands.length === 0) {
      const again = this.deferred;
      this.deferred = [];
      for (const tokens of again) {
        this.rereading = tokens[0]!;
        this.read(tokens);
      }
      this.rereading = null;
    }
  }

  /** `-qv`: one-letter boolean flags written together; false when a letter is not one. */
  private readShortGroup(flag: string): boolean {
    const options = [...flag.slice(1)].map((letter) => this.spec.options.find((o) => o.alias === letter && o.type === 'boolean'));
    if (options.some((o) => o === undefined)) return false;
    for (const option of options) this.set(option!, true, flag);
    return true;
  }

  private word(token: string): void {
    if (this.rereading !== null) throw new UsageProblem(`unexpected "${shown(token)}" after ${this.rereading} (options go after their command)`);
    if (this.spec.subcommands.length > 0 && this.words.length === 0) {
      const sub = this.spec.subcommands.find((m) => commandName(m) === token);
      if (!sub) {
        const names = this.spec.subcommands.map(commandName);
        const near = closest(token, names);
        throw new UsageProblem(`\`${this.command}\` has no command "${shown(token)}".${near ? ` Did you mean ${near}?` : ` It has: ${names.join(', ')}`}`);
      }
      this.spec = specOf(sub, this.spec.options);
      this.path.push(token);
      return;
    }
    this.words.push(token);
  }

  /** `--name`, `--camelName`, `--no-name` (a boolean's false), `-x` and `--alias` for an option. */
  private lookup(flag: string): { option: Declared; negated: boolean } | null {
    if (!flag.startsWith('--')) {
      const option = flag.length === 2 ? this.spec.options.find((o) => o.alias === flag[1]) : undefined;
      return option ? { option, negated: false } : null;
    }
    const name = flag.slice(2).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const byName = (n: string) => this.spec.options.find((o) => o.name === n || (o.alias !== undefined && o.alias.length > 1 && o.alias === n));
    const option = byName(name);
    if (option) return { option, negated: false };
    if (name.startsWith('no-')) {
      const positive = byName(name.slice(3));
      if (positive?.type === 'boolean') return { option: positive, negated: true };
    }
    return null;
  }

  private unknownOption(flag: string): string {
    const names = this.spec.options.map((o) => `--${o.name}`);
    const near = flag.startsWith('--') ? closest(flag, names) : null;
    return `unknown option ${shown(flag)} for \`${this.command}\`${near ? `. Did you mean ${near}?` : ''}`;
  }

  private convert(option: Declared, raw: string, flag: string): unknown {
    if (option.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageProblem(`${flag} takes a number, not "${raw}"`);
      return n;
    }
    if (option.choices && !option.choices.includes(raw)) throw new UsageProblem(`${flag} is one of ${option.choices.join(', ')}, not "${raw}"`);
    return raw;
  }

  private set(option: Declared, value: unknown, flag: string): void {
    if (option.array) {
      const list = (this.given.get(option.name) as unknown[] | undefined) ?? [];
      list.push(value);
      this.given.set(option.name, list);
      return;
    }
    // A flag said twice means what it says (the last one counts); a value given twice is a mistake to point out.
    if (this.given.has(option.name) && option.type !== 'boolean') throw new UsageProblem(`${flag} is given twice; give it once`);
    this.given.set(option.name, value);
  }

  /** The arguments the handler gets, once the whole line is read. */
  finish(): Record<string, unknown> {
    const spec = this.spec;
    if (spec.subcommands.length > 0) {
      throw new UsageProblem(
        spec === this.root ? `name a command; \`${this.root.name} --help\` lists them` : `\`${this.command}\` needs one of its commands: ${spec.subcommands.map(commandName).join(', ')}`,
      );
    }
    const args: Record<string, unknown> = { _: [...this.path] };
    const words = [...this.words];
    for (const p of spec.positionals) {
      if (p.required && words.length === 0) throw new UsageProblem(`\`${this.command}\` needs <${p.name}>${p.describe ? `: ${p.describe}` : ''}`);
      if (p.array) args[p.name] = words.splice(0);
      else if (words.length > 0) args[p.name] = words.shift();
    }
    if (words.length > 0) throw new UsageProblem(`unexpected ${words.map((w) => `"${w}"`).join(' ')} after \`${this.command}\``);
    for (const [a, b] of spec.conflicts) {
      if (this.given.has(a) && this.given.has(b)) throw new UsageProblem(`--${a} and --${b} cannot be given together`);
    }
    for (const option of spec.options) {
      if (this.given.has(option.name)) args[option.name] = this.given.get(option.name);
      else if (option.demandOption) throw new UsageProblem(`\`${this.command}\` needs --${option.name}${option.describe ? ` (${option.describe})` : ''}`);
      else if (option.default !== undefined) args[option.name] = option.default;
    }
    return args;
  }
}

/** `-x`, `--x`, `--`; not `-` alone (a file named so) or a negative number. */
function looksLikeOption(token: string): boolean {
  return token.startsWith('-') && token.length > 1 && !/^-\d+(\.\d+)?$/.test(token);
}
