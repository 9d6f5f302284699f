/**
 * Reads the admin guide's runnable command blocks. A block is runnable when its info string
 * is `sh` followed by the host it runs on:
 *
 *   ```sh online        the online host (downloads, bundles, the release build)
 *   ```sh offline       the air-gapped host (the staging server once there are two)
 *   ```sh production    a second air-gapped host, fed from staging by `airlock export`
 *
 * Every `sh` block must name its host, so no command in the guide escapes the test. A
 * command expected to fail ends with `# exit N`. Lines ending in `\` continue.
 */
export const HOSTS = ['online', 'offline', 'production'] as const;
export type Host = (typeof HOSTS)[number];

export interface GuideCommand {
  text: string;
  /** The exit status the guide promises (0 unless `# exit N`). */
  exit: number;
}

export interface GuideBlock {
  host: Host;
  /** The `##` section it is in. */
  section: string;
  /** 1-based line of the opening fence. */
  line: number;
  commands: GuideCommand[];
}

export function readGuideBlocks(markdown: string): GuideBlock[] {
  const lines = markdown.split('\n');
  const blocks: GuideBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^## /.test(line)) section = line.slice(3).trim();
    const fence = /^(\s*)```(\S*)\s*(.*)$/.exec(line);
    if (!fence) continue;
    const [, indent, language, rest] = fence;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (end < 0) throw new Error(`admin guide line ${i + 1}: a code block is never closed`);
    if (language === 'sh') {
      const host = rest!.trim();
      if (!(HOSTS as readonly string[]).includes(host)) {
        throw new Error(`admin guide line ${i + 1}: a sh block must name its host (${HOSTS.join(', ')}), found ${JSON.stringify(host)}`);
      }
      const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent!) ? l.slice(indent!.length) : l));
      blocks.push({ host: host as Host, section, line: i + 1, commands: joinCommands(body) });
    }
    i = end;
  }
  return blocks;
}

function joinCommands(body: string[]): GuideCommand[] {
  const commands: GuideCommand[] = [];
  let pending = '';
  for (const raw of body) {
    if (raw.trim() === '' || /^\s*#/.test(raw)) continue;
    if (raw.endsWith('\\')) {
      pending += raw.slice(0, -1) + ' ';
      continue;
    }
    const full = pending + raw;
    pending = '';
    const expected = /#\s*exit (\d+)\b[^#]*$/.exec(full);
    commands.push({ text: full, exit: expected ? Number(expected[1]) : 0 });
  }
  if (pending !== '') throw new Error(`a command ends with a line continuation: ${pending}`);
  return commands;
}
