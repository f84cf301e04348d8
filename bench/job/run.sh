#!/usr/bin/env bash
# The whole archival job of the release `tally` binary over a large dump:
# items/s and peak memory (the kernel's maximum RSS of the process), at N and
# 2N items, on 1 thread and on all cores. The dump is the fixtures'
# old_table.jsonl replicated; every run's --json statistics must be the
# fixture's (expected_archive_v1.stats.json) times the replicas, or this fails.
#   bench/job/run.sh [REPLICAS]     (default 200: 120,000 items, about 3 KB each)
set -euo pipefail
cd "$(dirname "$0")/../.."
replicas=${1:-200}
fixtures=${TALLY_FIXTURES:-../shared/fixtures}
mkdir -p bench/data
cargo build --locked -q --release -p tally
for r in "$replicas" "$((replicas * 2))"; do
  [ -f "bench/data/old-x$r.jsonl" ] || python3 bench/job/make_dump.py "$r" "bench/data/old-x$r.jsonl"
done
python3 - "$replicas" "$fixtures/expected_archive_v1.stats.json" <<'PY'
import json, os, subprocess, sys, time
from decimal import Decimal
replicas, want_path = int(sys.argv[1]), sys.argv[2]
want = json.load(open(want_path))
figures = []
print(f"{'items':>8} {'threads':>7} {'MB':>7} {'seconds':>8} {'items/s':>9} {'peak RSS MiB':>12}")
for r in (replicas, replicas * 2):
    dump = f"bench/data/old-x{r}.jsonl"
    size = os.path.getsize(dump) / 1e6
    for threads in (1, os.cpu_count()):
        best = None
        for _ in range(3):
            if os.path.exists("bench/data/out.csv"):
                os.remove("bench/data/out.csv")
            start = time.perf_counter()
            proc = subprocess.Popen(["target/release/tally", "archive", "--dump", dump, "--out", "bench/data/out.csv",
                                     "--start", "2024-01-01", "--end", "2025-12-31", "--threads", str(threads), "--json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            secs = time.perf_counter() - start
            assert status == 0, f"tally failed (status {status})"
            stats = json.loads(out)["stats"]
            for key in ("total_records", "total_input_tokens", "total_output_tokens", "scanned", "errors"):
                assert stats[key] == want[key] * r, f"{key}: {stats[key]} is not {want[key]} x {r}"
            assert Decimal(stats["total_cost"]) == Decimal(want["total_cost"]) * r, "total_cost"
            with open("bench/data/out.csv", "rb") as f:
                rows = sum(1 for _ in f) - 1
            assert rows == want["total_records"] * r, f"{rows} rows written"
            if best is None or secs < best[0]:
                best = (secs, usage.ru_maxrss / 1024)
        n = 600 * r
        print(f"{n:>8} {threads:>7} {size:>7.0f} {best[0]:>8.2f} {n / best[0]:>9.0f} {best[1]:>12.1f}")
        figures.append(f"figure: job.{n}.t{threads}={n / best[0]:.0f}/{best[1]:.0f}")
print("every run checked against the fixture's statistics")
print("\n".join(figures))
PY
