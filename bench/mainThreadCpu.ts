import * as fs from 'node:fs';

/**
 * Preloaded into a measured node command (`node --import <this file's URL>?out=PATH ...`):
 * when the process exits, it writes the CPU time of its main thread, the one that runs
 * the event loop and all JavaScript, as "utime stime" in clock ticks from
 * /proc/self/task/<pid>/stat. GNU time gives the whole process (libuv's pool included);
 * this tells whether the JavaScript thread itself was the limit. Nothing is written
 * where /proc is missing.
 */
const out = new URL(import.meta.url).searchParams.get('out');
if (out) {
  process.on('exit', () => {
    try {
      const text = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      fs.writeFileSync(out, `${fields[11]} ${fields[12]}\n`);
    } catch {
      // Not Linux: the report says n/a.
    }
  });
}
