#!/usr/bin/env bash
# Every test: formatting and lints (native and wasm32), the Rust tests
# (core fixtures and fuzzing, runner end to end), the wasm bindings under
# Node, the explorer in headless Chromium, and deploy/'s CDK stacks
# (assertions, a synth of both environments, cfn-lint).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export TALLY_TOOLS=${TALLY_TOOLS:-$HOME/.cache/tally}
export CARGO_TERM_COLOR=never
t0=$SECONDS
stage() { echo; echo "=== $* ($((SECONDS - t0)) s)"; }

stage setup
scripts/setup.sh

stage "cargo fmt --check"
cargo fmt --all -- --check

stage "cargo clippy (native, all targets)"
cargo clippy --locked -q --workspace --all-targets -- -D warnings
stage "cargo clippy (wasm32: core and bindings)"
cargo clippy --locked -q -p tally-core -p tally-wasm --target wasm32-unknown-unknown --all-targets -- -D warnings

stage "cargo test (workspace)"
cargo test --locked --workspace

stage "wasm bindings under wasm-bindgen-test-runner (Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --locked -p tally-wasm --target wasm32-unknown-unknown

stage "explorer in headless Chromium"
scripts/build-wasm.sh
node --test tests/browser/

stage "deploy: CDK assertions, synth, cfn-lint"
npm --prefix deploy test
# The debug binary cargo test built (no second release build); the asset script strips it.
TALLY_BINARY=target/debug/tally npm --prefix deploy run synth
"$TALLY_TOOLS/cfn-lint/bin/cfn-lint" deploy/cdk.out/*.template.json

stage "all tests passed"
