#!/usr/bin/env bash
# Peak memory and throughput of every job at two table sizes: the release
# `tally` over generated dumps of N and 10 N conversation items, each job
# and format with a budget both sizes exceed (--memory 64M: both spill),
# the default budget (--memory 512M) and everything in memory (--memory
# 64G: the in-memory path), the outputs of all three compared byte for byte.
#   bench/memory/run.sh [N]      (default 200000: 200,000 and 2,000,000 items)
# Figures: bench/out/memory.json, and the table printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-200000}
mkdir -p bench/data bench/out
cargo build --locked -q --release -p tally
for k in "$n" "$((n * 10))"; do
  [ -f "bench/data/items-$k.jsonl" ] || python3 bench/memory/make_items.py "$k" "bench/data/items-$k.jsonl"
done
python3 - "$n" <<'PY'
import filecmp, json, os, shutil, subprocess, sys, time
n = int(sys.argv[1])
jobs = {
    "archive csv": ["archive", "--start", "2024-01-01"],
    "archive parquet": ["archive", "--start", "2024-01-01", "--format", "parquet"],
    "consolidate csv": ["consolidate", "--start", "2024-01-01", "--end", "2026-12-31",
                        "--historical", "bench/data/no-history.csv", "--allow-missing-historical"],
    "consolidate parquet": ["consolidate", "--start", "2024-01-01", "--end", "2026-12-31",
                            "--historical", "bench/data/no-history.csv", "--allow-missing-historical",
                            "--format", "parquet"],
    "users csv": ["users"],
}
figures = []
print(f"{'job':<20} {'items':>9} {'memory':>7} {'seconds':>8} {'items/s':>9} {'peak RSS MiB':>12} {'spilled':>10}")
for items in (n, n * 10):
    dump = f"bench/data/items-{items}.jsonl"
    for job, args in jobs.items():
        outs = {}
        for memory in ("64M", "512M", "64G"):
            out = f"bench/data/mem-out-{memory}" + ("" if "parquet" in job else ".csv")
            shutil.rmtree(out, ignore_errors=True)
            if os.path.exists(out):
                os.remove(out)
            cmd = ["target/release/tally", *args, "--dump", dump, "--out", out, "--memory", memory, "--json"]
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            report = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            secs = time.perf_counter() - start
            assert status == 0, f"{job} {memory}: tally failed ({status})"
            report = json.loads(report)
            rss = usage.ru_maxrss / 1024
            f = {"job": job, "items": items, "memory": memory, "seconds": round(secs, 2),
                 "items_per_s": round(items / secs), "peak_rss_mib": round(rss, 1),
                 "spilled_rows": report.get("spilled_rows", 0)}
            figures.append(f)
            print(f"{job:<20} {items:>9,} {memory:>7} {secs:>8.2f} {items / secs:>9,.0f} {rss:>12.1f} {f['spilled_rows']:>10,}")
            print(f"figure: mem.{job.replace(' ', '_')}.{items}.{memory}={items / secs:.0f}/{rss:.0f}")
            outs[memory] = out
        def tree(d):
            return sorted(os.path.relpath(os.path.join(r, x), d) for r, _, fs in os.walk(d) for x in fs)
        b = outs["64G"]
        for a in (outs["64M"], outs["512M"]):
            if os.path.isdir(a):
                same = tree(a) == tree(b) and all(filecmp.cmp(f"{a}/{p}", f"{b}/{p}", shallow=False) for p in tree(a))
            else:
                same = filecmp.cmp(a, b, shallow=False)
            assert same, f"{job}: the output of {a} differs from the in-memory one"
for m in ("64M", "512M", "64G"):
    for o in (f"bench/data/mem-out-{m}", f"bench/data/mem-out-{m}.csv"):
        shutil.rmtree(o, ignore_errors=True) if os.path.isdir(o) else (os.path.exists(o) and os.remove(o))
json.dump(figures, open("bench/out/memory.json", "w"), indent=1)
print("outputs identical with and without spilling; figures in bench/out/memory.json")
PY
