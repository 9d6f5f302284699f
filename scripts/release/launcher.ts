/**
 * The `bin/<name>` shell launcher of a release: runs `bin/<name>.js` beside it with the
 * `node` on PATH. Only shell built-ins run before node does, because the air-gapped host
 * may be minimal (no coreutils `readlink -f`, `dirname` or `realpath` guaranteed). `$0`
 * may be a symlink (`/usr/local/bin/airlock -> /opt/airlock-.../bin/airlock`, possibly
 * relative, possibly a chain): node itself resolves it, once, only in that case.
 * `CDPATH=` keeps `cd` from printing the directory it chose into `here`.
 */
export function launcherScript(name: string, version: string): string {
  return `#!/bin/sh
# ${name} ${version}: runs ${name}.js, next to the real file behind this launcher, with the node on PATH.
if ! command -v node >/dev/null 2>&1; then
  echo "${name}: node is not on PATH; install Node.js 20.19 or newer, or add its bin directory to PATH" >&2
  exit 127
fi
self=$0
case $self in */*) ;; *) self=./$self ;; esac
if [ -L "$self" ]; then
  self=$(node -e 'process.stdout.write(require("fs").realpathSync(process.argv[1]))' "$self") || exit 1
fi
here=$(CDPATH= cd -P -- "\${self%/*}" && pwd -P) || exit 1
exec node "$here/${name}.js" "$@"
`;
}
