#!/usr/bin/env bash
# Serves the explorer (web/) on 127.0.0.1 with FILE ready to open:
#   scripts/explore.sh FILE.csv [PORT]      (PORT: any free one unless given)
# FILE is read where it is (never copied), under a random path that only the
# printed URL knows. The page runs entirely in the browser; the file never
# leaves the machine.
set -euo pipefail
file=${1:?usage: scripts/explore.sh FILE.csv [PORT]}
port=${2:-0}
# The file as named from where the script was called, before the cd below.
case $file in /*) ;; *) file=$PWD/$file ;; esac
[ -f "$file" ] || { echo "explore.sh: not a file: $1" >&2; exit 1; }
cd "$(dirname "$0")/.."
[ -f web/pkg/tally_wasm_bg.wasm ] || scripts/build-wasm.sh >/dev/null
[ -f web/vendor/chart.umd.min.js ] || scripts/setup.sh demo
echo
exec node web/tools/serve.mjs --file "$file" --port "$port"
