#!/bin/sh
# Runs a command with Node >= 22.12 and the project's dependencies installed.
# This machine image ships Node 20; when `node` is older, Node 24 comes from the npm registry
# (the `node` package) into a cache folder, and its bin goes first on PATH.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PODGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podgate}
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}
if ! node_ok; then
  if [ ! -x "$cache/node24/node_modules/.bin/node" ]; then
    echo "podgate: node $(node --version 2>/dev/null || echo missing) is older than 22.12; installing Node 24 into $cache/node24" >&2
    npm install --silent --no-audit --no-fund --prefix "$cache/node24" node@24 >&2
  fi
  PATH="$cache/node24/node_modules/.bin:$PATH"
  export PATH
fi
# Install dependencies when node_modules is missing or older than the lock file.
if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  (cd "$root" && npm ci --silent --no-audit --no-fund >&2)
fi
PATH="$root/node_modules/.bin:$PATH"
export PATH
exec "$@"
