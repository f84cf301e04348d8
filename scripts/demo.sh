#!/usr/bin/env bash
# The embedded default: sample tables, the archival and the daily
# consolidation on local files (tally demo), then the explorer on the result.
#   scripts/demo.sh              run it and serve the explorer on 127.0.0.1 (the URL is printed)
#   scripts/demo.sh --no-serve   run it and stop (what CI-like checks use)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh demo
cargo build --locked -q -p tally
./target/debug/tally demo --dir tally-demo
scripts/build-wasm.sh >/dev/null
if [ "${1:-}" = --no-serve ]; then exit 0; fi
exec scripts/explore.sh tally-demo/tokens_analysis_consolidated.csv
