#!/usr/bin/env bash
# The whole archival job over a large dump: items/s and peak memory of the
# release `tally` binary, at N and 2N items, on 1 thread and on all cores.
#   bench/job/run.sh [ITEMS]     (default 120000; about 4 KB an item)
set -euo pipefail
cd "$(dirname "$0")/../.."
items=${1:-120000}
mkdir -p bench/data
cargo build --locked -q --release -p tally
for n in "$items" "$((items * 2))"; do
  [ -f "bench/data/dump-$n.jsonl" ] || python3 bench/job/make_dump.py "$n" "bench/data/dump-$n.jsonl"
done
python3 - "$items" <<'PY'
import os, resource, subprocess, sys, time
items = int(sys.argv[1])
print(f"{'items':>8} {'threads':>7} {'MB':>7} {'seconds':>8} {'items/s':>9} {'peak RSS MiB':>12}")
for n in (items, items * 2):
    dump = f"bench/data/dump-{n}.jsonl"
    size = os.path.getsize(dump) / 1e6
    for threads in (1, os.cpu_count()):
        best = None
        for _ in range(3):
            start = time.perf_counter()
            proc = subprocess.Popen(["target/release/tally", "archive", "--dump", dump, "--out", "bench/data/out.csv",
                                     "--start", "2024-01-01", "--estimator", "v2", "--threads", str(threads), "--json"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            secs = time.perf_counter() - start
            assert status == 0, "tally failed"
            if best is None or secs < best[0]:
                best = (secs, usage.ru_maxrss / 1024)
        print(f"{n:>8} {threads:>7} {size:>7.0f} {best[0]:>8.2f} {n / best[0]:>9.0f} {best[1]:>12.1f}")
PY
