#!/bin/sh
# Assembles the Lambda asset in deploy/asset/: `bootstrap` (execs
# `tally lambda` on provided.al2023), the `tally` binary, stripped, and a
# copy of the repository's tally.toml (TALLY_ENV names an environment of it).
#   TALLY_BINARY=PATH scripts/asset.sh   that binary (no build)
#   scripts/asset.sh                     cargo build --release --locked -p tally first
# TALLY_DEPLOY_CONFIG names another tally.toml, as it does for the CDK app.
set -eu
deploy=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$deploy/.." && pwd)
config=${TALLY_DEPLOY_CONFIG:-$root/tally.toml}
asset=$deploy/asset

if [ -n "${TALLY_BINARY:-}" ]; then
  binary=$TALLY_BINARY
else
  echo "[asset] cargo build --release --locked -p tally" >&2
  (cd "$root" && cargo build --release --locked -p tally)
  binary=$root/target/release/tally
fi
[ -f "$binary" ] || { echo "[asset] no binary at $binary" >&2; exit 1; }
[ -f "$config" ] || { echo "[asset] no configuration at $config" >&2; exit 1; }
command -v strip >/dev/null || { echo "[asset] strip is needed (binutils)" >&2; exit 1; }

# Built beside the asset, then put in its place: a failed step leaves no half asset.
next=$(mktemp -d "$deploy/.asset.XXXXXX")
trap 'rm -rf "$next"' EXIT
printf '#!/bin/sh\nexec "$LAMBDA_TASK_ROOT/tally" lambda\n' >"$next/bootstrap"
strip -o "$next/tally" "$binary"
cp "$config" "$next/tally.toml"
chmod 755 "$next" "$next/bootstrap" "$next/tally"
chmod 644 "$next/tally.toml"
rm -rf "$asset"
mv "$next" "$asset"
trap - EXIT
echo "[asset] $asset: tally $(du -k "$asset/tally" | cut -f1) KiB (stripped from $binary)" >&2
