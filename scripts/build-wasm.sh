#!/usr/bin/env bash
# Builds the core for the browser: web/pkg/tally_wasm.js + tally_wasm_bg.wasm.
# Needs the wasm32 target and wasm-bindgen-cli matching Cargo.lock (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --locked -q -p tally-wasm --target wasm32-unknown-unknown --profile wasm
wasm-bindgen --target web --out-dir web/pkg target/wasm32-unknown-unknown/wasm/tally_wasm.wasm
raw=$(stat -c %s web/pkg/tally_wasm_bg.wasm)
gz=$(gzip -9 -c web/pkg/tally_wasm_bg.wasm | wc -c)
echo "[build-wasm] web/pkg/tally_wasm_bg.wasm: $raw bytes, $gz gzipped"
