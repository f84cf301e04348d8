#!/usr/bin/env bash
# Runs every benchmark (each one checks its answers and fails loudly on a
# wrong one) and prints the README's performance table, with the commit it
# measured. Takes a few minutes and wants a quiet machine:
#   bench/report.sh            the table, on standard output
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- core native-runner wasm web bench || commit="$commit + uncommitted changes"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { echo "[report] $*" >&2; "$@" | tee -a "$log" >&2; }
run cargo bench --locked -q -p tally-core --bench throughput
run bench/job/run.sh
run node bench/browser/run.mjs --runs 3
run node bench/browser/run.mjs --detail --runs 3
run cargo bench --locked -q -p tally-core --bench explorer
run cargo bench --locked -q -p tally-core --bench detail
run bench/lambda/run.sh
run bench/memory/run.sh
python3 - "$log" "$commit" "$(nproc)" <<'PY'
import re, sys
log, commit, cores = sys.argv[1], sys.argv[2], sys.argv[3]
f = dict(re.findall(r"^figure: (\S+?)=(\S+)$", open(log).read(), re.M))
k = lambda v: f"{int(float(v)) / 1000:.0f}k"
job = sorted((int(n), t, v) for n, t, v in (re.match(r"job\.(\d+)\.t(\d+)", key).groups() + (val,) for key, val in f.items() if key.startswith("job.")))
sizes = sorted({n for n, _, _ in job})
def job_cell():
    parts = []
    for n in sizes:
        runs = [(t, v) for m, t, v in job if m == n]
        speeds = ", ".join(f"{k(v.split('/')[0])} items/s on {t} thread{'s' if t != '1' else ''}" for t, v in runs)
        rss = max(int(v.split('/')[1]) for _, v in runs)
        parts.append(f"{n // 1000}k items: {speeds}, peak RSS {rss} MiB")
    return "; ".join(parts)
def mem_cell():
    out = []
    for job in ("archive_csv", "archive_parquet", "consolidate_csv", "consolidate_parquet", "users_csv"):
        cells = {}
        for key, val in f.items():
            m = re.match(rf"mem\.{job}\.(\d+)\.(\w+)$", key)
            if m:
                cells[(int(m.group(1)), m.group(2))] = val.split("/")
        if not cells:
            continue
        sizes = sorted({n for n, _ in cells})
        parts = []
        for n in sizes:
            b, d, i = cells.get((n, "64M")), cells.get((n, "512M")), cells.get((n, "64G"))
            parts.append(f"{n // 1000}k: {k(b[0])} items/s {b[1]} MiB at 64M, {k(d[0])}/s {d[1]} MiB at 512M, "
                         f"{k(i[0])}/s {i[1]} MiB in memory")
        out.append(f"{job.replace('_', ' ')}: " + "; ".join(parts))
    return "<br>".join(out)
rows = [
    ("each estimator's fixture job from export lines (DynamoDB JSON decoding included), 1 thread",
     "`cargo bench -p tally-core --bench throughput`",
     f"v1 {k(f['v1.whole'])}, v2 {k(f['v2.whole'])}, full {k(f['full.whole'])} items/s"),
    ("the same on items already read (the table-scan path)", "same",
     f"v1 {k(f['v1.read'])}, v2 {k(f['v2.read'])}, full {k(f['full.read'])} items/s"),
    ("release `tally archive` over the fixture's legacy table replicated (memory: the process's peak RSS)",
     "`bench/job/run.sh`", job_cell()),
    (f"explorer, {int(f['browser.rows']):,}-row CSV ({f['browser.mb']} MB), headless Chromium, the page's worker path",
     "`node bench/browser/run.mjs --runs 3`",
     f"all views (cost by user included) {f['browser.all_views_ms']} ms, one what-if {f['browser.whatif_ms']} ms (medians); wasm {f['wasm_gzip_kib']} KiB gzipped"),
    ("the same file opened in the page, end to end (a fresh browser at 1440x900, until every view is shown): chosen in the "
     "file picker, and through `?csv=` (the path `scripts/explore.sh` uses) from `web/tools/serve.mjs`",
     "`node bench/browser/run.mjs --runs 3`",
     "; ".join(f"{label} {f[f'browser.open_{how}_ms']} ms (to the open's start {f[f'browser.open_{how}.start_ms']}, read and parsed {f[f'browser.open_{how}.read_and_parse_ms']}, "
               f"views {f[f'browser.open_{how}.views_ms']})" for how, label in (("picker", "picker"), ("url", "`?csv=`")))),
    ("explorer engine natively, same file", "`cargo bench -p tally-core --bench explorer`",
     f"load {f['load_ms']} ms (the users interned as it reads), views {f['views_ms']} ms, what-if {f['whatif_ms']} ms, cost by user {f['by_user_ms']} ms"),
    (f"explorer, {int(f['browser_detail.rows']):,}-row detail CSV ({f['browser_detail.mb']} MB: bedrock-chat's detail rows repeated), headless Chromium, worker path",
     "`node bench/browser/run.mjs --detail --runs 3`",
     f"all views (by user, bot, model, recorded vs estimated included) {f['browser_detail.all_views_ms']} ms, one what-if {f['browser_detail.whatif_ms']} ms (medians)"),
    ("explorer engine natively, the detail rows of bedrock-chat's table repeated to 1,000,080 rows (279 MB)",
     "`cargo bench -p tally-core --bench detail`",
     f"load and every view (cost by user, bot, model, recorded against estimated, what-if) {f['detail.all_ms']} ms; a per-model what-if {f['detail.whatif_ms']} ms"),
    ("the daily job as a Lambda invocation (`tally lambda` behind a local Runtime API, moto's DynamoDB and S3)",
     "`bench/lambda/run.sh`",
     f"the fixtures' table: {f['lambda.fixtures.seconds']} s, peak RSS {f['lambda.fixtures.rss_mb']} MiB; 100,200 items from a dump in S3: "
     f"{f['lambda.x167.seconds']} s ({f['lambda.x167.cpu_s']} s of CPU), peak RSS {f['lambda.x167.rss_mb']} MiB (the seed's limits: 300 s, 512 MB)"),
    ("the same 179 MB file in the same run, same Chromium: DuckDB-WASM (eh bundle, auto-detected and typed) and plain JS "
     "(`../shared/bench-anchors/`), load / all views / what-if, ms",
     "`node bench/browser/run.mjs --runs 3`",
     "; ".join(f"{n}: {f.get(f'anchors.{key}.load_ms', '–')} / {f.get(f'anchors.{key}.all_views_ms', '–')} / {f.get(f'anchors.{key}.whatif_ms', '–')}"
               for key, n in (("tally_worker", "Tally (worker)"), ("duckdb_eh_auto", "DuckDB-WASM auto"),
                              ("duckdb_eh_typed", "DuckDB-WASM typed"), ("js", "plain JS")))),
    ("every job over generated conversations (200k and 2M items), with `--memory 64M` (both sizes spill), the default `512M`, "
     "and everything in memory (`64G`); outputs identical in all three", "`bench/memory/run.sh`", mem_cell()),
]
print(f"Measured at commit {commit} on a {cores}-core machine by `bench/report.sh`; every run checked its results")
print("(rows, tokens and costs against the fixtures' or the generator's statistics, what-ifs against an")
print("independent re-pricing) and fails otherwise.")
print()
print("| what | command | figure |")
print("|---|---|---|")
for what, cmd, fig in rows:
    print(f"| {what} | {cmd} | {fig} |")
PY
