#!/usr/bin/env bash
# Installs what the build, the demo and the tests need, idempotently:
#   scripts/setup.sh          everything (the test command's needs)
#   scripts/setup.sh demo     only what the demo needs (no browser, no emulator)
# Rust itself must be there (rustup); the rest comes from the registries:
# the wasm32 target, wasm-bindgen-cli (the version in Cargo.lock), Debian's
# chromium for the browser tests, the page's npm packages, moto's server
# (the local AWS emulator), cfn-lint and pyarrow (the tests' Parquet reader) in
# virtualenvs under $TALLY_TOOLS,
# and deploy/'s npm packages (the CDK app).
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-all}
export PATH="$HOME/.cargo/bin:$PATH"
TALLY_TOOLS=${TALLY_TOOLS:-$HOME/.cache/tally}
step() { echo "[setup] $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

command -v cargo >/dev/null || { echo "[setup] Rust is needed first: https://rustup.rs" >&2; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown >/dev/null
fi

wb_version=$(awk '$0=="name = \"wasm-bindgen\""{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
  step "cargo install wasm-bindgen-cli $wb_version (about 2 minutes, once)"
  # --locked can fail when the registry lacks a version pinned in the CLI's own lockfile.
  cargo install -q wasm-bindgen-cli --version "$wb_version" --locked 2>/dev/null \
    || cargo install -q wasm-bindgen-cli --version "$wb_version" --force
fi

command -v node >/dev/null || { step "apt-get install nodejs npm"; as_root apt-get update -qq; as_root apt-get install -y -qq nodejs npm >/dev/null; }
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  step "npm ci (web/)"
  # The download cache lives with the other tools, so a CI cache of ~/.cache keeps it.
  npm --prefix web ci --cache "$TALLY_TOOLS/npm" --no-audit --no-fund --loglevel=error >/dev/null
fi
node web/tools/vendor.mjs >/dev/null   # cheap; picks up a Chart.js bump

[ "$want" = demo ] && exit 0

if ! command -v chromium >/dev/null; then
  step "apt-get install chromium (browser tests)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

if ! command -v objdump >/dev/null; then
  step "apt-get install binutils (objdump: the Lambda binary's glibc check)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq binutils >/dev/null
fi

if [ ! -x "$TALLY_TOOLS/moto/bin/moto_server" ]; then
  step "moto[server] into $TALLY_TOOLS/moto (the local AWS emulator)"
  mkdir -p "$TALLY_TOOLS"
  python3 -m venv "$TALLY_TOOLS/moto"
  "$TALLY_TOOLS/moto/bin/pip" install -q 'moto[server]==5.2.5'
fi

if [ ! -x "$TALLY_TOOLS/cfn-lint/bin/cfn-lint" ]; then
  step "cfn-lint into $TALLY_TOOLS/cfn-lint (the deploy/ templates' linter)"
  mkdir -p "$TALLY_TOOLS"
  python3 -m venv "$TALLY_TOOLS/cfn-lint"
  "$TALLY_TOOLS/cfn-lint/bin/pip" install -q 'cfn-lint==1.58.0'
fi

if [ ! -x "$TALLY_TOOLS/pyarrow/bin/python" ] || ! "$TALLY_TOOLS/pyarrow/bin/python" -c 'import pyarrow.parquet' 2>/dev/null; then
  step "pyarrow into $TALLY_TOOLS/pyarrow (a Parquet reader that is not ours, for the tests)"
  mkdir -p "$TALLY_TOOLS"
  python3 -m venv "$TALLY_TOOLS/pyarrow"
  "$TALLY_TOOLS/pyarrow/bin/pip" install -q 'pyarrow==22.0.0'
fi

if [ ! -d deploy/node_modules ] || [ deploy/package-lock.json -nt deploy/node_modules/.package-lock.json ]; then
  step "npm ci (deploy/: the CDK app and its tests)"
  npm --prefix deploy ci --cache "$TALLY_TOOLS/npm" --no-audit --no-fund --loglevel=error >/dev/null
fi
