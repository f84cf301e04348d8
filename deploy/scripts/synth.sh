#!/bin/sh
# Synthesizes every stack (one per tally.toml environment with a `deploy`
# table) into deploy/cdk.out/, without AWS credentials: installs deploy's
# npm packages when missing or stale, builds the asset (scripts/asset.sh:
# TALLY_BINARY=PATH uses that binary, otherwise a release build), compiles,
# and runs the CDK CLI from node_modules (no notices, no version reporting,
# no telemetry, no version check).
set -eu
deploy=$(cd "$(dirname "$0")/.." && pwd)
# Relative paths are the caller's: npm runs this in deploy/ and says where it was called in INIT_CWD.
caller=$PWD
if [ -n "${npm_lifecycle_event:-}" ] && [ -n "${INIT_CWD:-}" ]; then caller=$INIT_CWD; fi
absolute() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$caller/$1" ;; esac; }
if [ -n "${TALLY_BINARY:-}" ]; then TALLY_BINARY=$(absolute "$TALLY_BINARY"); export TALLY_BINARY; fi
if [ -n "${TALLY_DEPLOY_CONFIG:-}" ]; then TALLY_DEPLOY_CONFIG=$(absolute "$TALLY_DEPLOY_CONFIG"); export TALLY_DEPLOY_CONFIG; fi
cd "$deploy"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[synth] npm ci (deploy/)" >&2
  npm ci --cache "${TALLY_TOOLS:-$HOME/.cache/tally}/npm" --no-audit --no-fund --loglevel=error >/dev/null
fi
# Compiled and tally.toml checked first: a broken one fails before a release build.
npm run -s build
node -e 'try { require("./build/lib/config").loadConfig(process.argv[1]) } catch (e) { console.error(`error: ${e.message}`); process.exit(1) }' \
  "${TALLY_DEPLOY_CONFIG:-$deploy/../tally.toml}"
sh scripts/asset.sh
export CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=1
rm -rf cdk.out
node_modules/.bin/cdk synth --no-notices --no-version-reporting -o cdk.out --quiet "$@"
ls cdk.out/*.template.json
