import type { Argv, CommandModule, OptionSpec } from './types.js';

/** An option or positional as declared, with its name. */
export interface Declared extends OptionSpec {
  name: string;
  /** One of the options every command has (shown after the command's own in help). */
  global?: boolean;
}

export interface PositionalDeclared extends Declared {
  required: boolean;
}

/** What one command declares, after its builder ran. */
export interface CommandSpec {
  /** The command's own word ('create'), or the program's name at the top. */
  name: string;
  /** The name with its positionals as written ('show <snapshot>'). */
  usage: string;
  describe: string;
  positionals: PositionalDeclared[];
  /** Options in the order declared, the program's global ones included. */
  options: Declared[];
  examples: Array<{ command: string; description: string }>;
  conflicts: Array<[string, string]>;
  subcommands: Array<CommandModule<never>>;
  handler: (args: never) => void | Promise<void>;
}

class SpecBuilder implements Argv {
  constructor(readonly spec: CommandSpec) {}

  option(name: string, spec: OptionSpec): Argv {
    const known = this.spec.options.findIndex((o) => o.name === name);
    if (known >= 0) this.spec.options.splice(known, 1);
    this.spec.options.push({ name, ...spec });
    return this;
  }

  positional(name: string, spec: OptionSpec): Argv {
    const p = this.spec.positionals.find((x) => x.name === name);
    if (!p) throw new Error(`${this.spec.usage}: positional ${name} is not in the command string`);
    Object.assign(p, spec, { name, required: p.required });
    return this;
  }

  example(command: string, description: string): Argv {
    this.spec.examples.push({ command, description });
    return this;
  }

  conflicts(a: string, b: string): Argv {
    this.spec.conflicts.push([a, b]);
    return this;
  }

  command(module: CommandModule<never>): Argv {
    this.spec.subcommands.push(module);
    return this;
  }
}

/** The first word of a command string: the command's name. */
export function commandName(module: CommandModule<never>): string {
  return module.command.split(' ')[0]!;
}

/**
 * Runs a command's builder on top of the options every command has (`inherited`), and reads
 * its positionals from the command string. A command with subcommands has no positionals of
 * its own: its '<command>' only names the place of the subcommand.
 */
export function specOf(module: CommandModule<never>, inherited: readonly Declared[]): CommandSpec {
  const [name, ...words] = module.command.split(' ');
  const spec: CommandSpec = {
    name: name!,
    usage: module.command,
    describe: module.describe,
    positionals: words.map(positionalFromWord),
    options: inherited.map((o) => ({ ...o })),
    examples: [],
    conflicts: [],
    subcommands: [],
    handler: module.handler,
  };
  module.builder?.(new SpecBuilder(spec));
  if (spec.subcommands.length > 0) spec.positionals = [];
  return spec;
}

function positionalFromWord(word: string): PositionalDeclared {
  const m = /^([<[])([a-z][a-z0-9-]*)(\.\.)?[>\]]$/.exec(word);
  if (!m) throw new Error(`bad positional ${word}`);
  return { name: m[2]!, required: m[1] === '<', array: m[3] !== undefined, type: 'string' };
}
