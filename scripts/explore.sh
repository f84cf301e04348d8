#!/usr/bin/env bash
# Serves the explorer (web/) on 127.0.0.1 with FILE ready to open:
#   scripts/explore.sh FILE.csv [PORT]
# The page runs entirely in the browser; the file never leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:?usage: scripts/explore.sh FILE.csv [PORT]}
port=${2:-8080}
[ -f web/pkg/tally_wasm_bg.wasm ] || scripts/build-wasm.sh >/dev/null
[ -f web/vendor/chart.umd.min.js ] || scripts/setup.sh demo
mkdir -p web/data
cp "$file" "web/data/$(basename "$file")"
echo
echo "Explorer: http://127.0.0.1:$port/?csv=data/$(basename "$file")"
echo "(or open http://127.0.0.1:$port/ and choose any CSV; Ctrl-C stops the server)"
exec node web/tools/serve.mjs "$port"
