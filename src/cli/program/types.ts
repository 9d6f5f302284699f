/**
 * How a command declares its command line: a name with its positionals ('apply <bundle..>'),
 * options, examples and subcommands, through a builder chained the way yargs' is. The
 * declaration is data (see commandSpec.ts); parseCommandLine.ts reads a command line against
 * it and helpText.ts shows it. Nothing here runs a command.
 */
export type OptionType = 'string' | 'boolean' | 'number';

export interface OptionSpec {
  /** Default 'string'. */
  type?: OptionType;
  describe?: string;
  default?: string | number | boolean;
  /** The option must be given. */
  demandOption?: boolean;
  /** Another name: one letter is a short flag (-o), longer is a long one (--linux-distros). */
  alias?: string;
  /** Repeatable (--key a --key b); the value is always a list. For a positional: takes every word left. */
  array?: boolean;
  /** The only values accepted. */
  choices?: readonly string[];
}

export interface Argv {
  option(name: string, spec: OptionSpec): Argv;
  /** Describes a positional named in the command string ('<bundle..>'). */
  positional(name: string, spec: OptionSpec): Argv;
  /** An example command line ($0 is the program's name) and what it does. */
  example(command: string, description: string): Argv;
  /** The two options cannot be given together. */
  conflicts(a: string, b: string): Argv;
  /** A subcommand; a command that has any must be given one. */
  command(module: CommandModule<never>): Argv;
}

/**
 * A command: `command` is its name and positionals ('show <snapshot>', 'diff <from> <to>',
 * 'apply <bundle..>', 'bundle <command>' for one that only has subcommands). The handler gets
 * the parsed arguments, keyed by each option's and positional's name, with `_` the command's path.
 */
export interface CommandModule<Args> {
  command: string;
  describe: string;
  builder?: (y: Argv) => Argv;
  handler: (args: Args) => void | Promise<void>;
}
