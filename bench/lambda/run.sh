#!/usr/bin/env bash
# The daily job as a Lambda invocation over moto (see run.py): duration and
# peak memory for the fixtures and for ~100,000 items, checked byte for byte.
#   bench/lambda/run.sh [REPLICAS]     (default 167: 100,200 items)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
TALLY_TOOLS=${TALLY_TOOLS:-$HOME/.cache/tally}
cargo build --locked -q --release -p tally
exec "$TALLY_TOOLS/moto/bin/python" bench/lambda/run.py "$@"
