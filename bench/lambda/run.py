#!/usr/bin/env python3
"""The daily job as a Lambda invocation: the release `tally lambda` behind a
local Runtime API (the documented /2018-06-01/runtime endpoints, served
here), DynamoDB and S3 in moto's server. For the fixtures' new table and for
a dump of it replicated to about 100,000 items, it loads the table (the
large case: puts the dump in S3 and sends `{"dump": "s3://..."}`, since moto's
Scan is quadratic), puts the history where the seed's daily Lambda reads it,
sends the seed's `{}` and
measures the invocation (event handed out -> answer), the function
process's CPU time and its peak memory (VmHWM), against the seed's limits
(5 min, 512 MB). moto is a Python emulator: most of the invocation's time is
its answering the scan, which DynamoDB does far faster.

Every run is checked: the answer is a 200, and the consolidated CSV the
function wrote to S3 is byte for byte the one `tally consolidate --dump` makes
of the same items locally (for the fixtures, also expected_consolidated.csv).

    bench/lambda/run.sh [REPLICAS]      (default 167: 100,200 items)

Run with a Python that has boto3 (moto's virtualenv does).
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("TALLY_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
TALLY = os.path.join(ROOT, "target", "release", "tally")
HISTORY_KEY = "archives/tokens-analysis/tokens_analysis_old_table.csv"
OUTPUT_KEY = "tokens-analysis/tokens_analysis_consolidated.csv"
START = "2025-12-01"
LIMITS = {"seconds": 300, "memory_mb": 512}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RuntimeApi:
    """One event at a time: handed out on /next, answered on /response or /error."""

    def __init__(self):
        self.lock = threading.Condition()
        self.event = None  # (id, body)
        self.answers = {}
        self.handed_at = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                with api.lock:
                    while api.event is None:
                        api.lock.wait()
                    rid, body = api.event
                    api.event = None
                    api.handed_at[rid] = time.perf_counter()
                deadline = int(time.time() * 1000) + LIMITS["seconds"] * 1000
                data = body.encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path.split("/")
                if "invocation" in parts and parts[-1] in ("response", "error"):
                    rid = parts[-2]
                    with api.lock:
                        api.answers[rid] = (parts[-1], body, time.perf_counter())
                        api.lock.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, rid, event, timeout):
        with self.lock:
            self.event = (rid, json.dumps(event))
            self.lock.notify_all()
            end = time.time() + timeout
            while rid not in self.answers:
                if time.time() > end:
                    raise TimeoutError(f"no answer to {rid} in {timeout} s")
                self.lock.wait(1)
            kind, body, at = self.answers[rid]
        return kind, json.loads(body), at - self.handed_at[rid]

    def close(self):
        self.server.shutdown()


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid):
    """The process's user + system CPU time so far (/proc/PID/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_table(ddb, name, path):
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with open(path, encoding="utf-8") as f:
        items = [json.loads(line)["Item"] for line in f if line.strip()]
    batches = [items[k:k + 25] for k in range(0, len(items), 25)]

    def write(batch):
        request = {name: [{"PutRequest": {"Item": item}} for item in batch]}
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, batches))
    return len(items)


def local_consolidation(dump, history, out):
    """The same job by the command line, on the same items: the output to compare with."""
    subprocess.run([TALLY, "consolidate", "--dump", dump, "--historical", history, "--out", out, "--start", START],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return f.read()


def one_case(label, dump, endpoint, env_aws, expected=None, scan=True):
    """One invocation: over the table (`scan`) loaded from `dump`, or over `dump` itself in S3."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint, config=boto3.session.Config(s3={"addressing_style": "path"}))
    table, bucket = f"bench-{label}", f"bench-{label}-reports"
    s3.create_bucket(Bucket=bucket)
    t = time.perf_counter()
    if scan:
        items = load_table(ddb, table, dump)
        event = {}
    else:
        with open(dump, "rb") as f:
            items = sum(1 for line in f if line.strip())
        s3.upload_file(dump, bucket, "dumps/new_table.jsonl")
        event = {"dump": f"s3://{bucket}/dumps/new_table.jsonl"}
    load_s = time.perf_counter() - t
    history = os.path.join(FIXTURES, "expected_archive_v1.csv")
    with open(history, "rb") as f:
        s3.put_object(Bucket=bucket, Key=HISTORY_KEY, Body=f.read())

    api = RuntimeApi()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TALLY_", "ATHENA_", "S3_", "FILTER_", "DYNAMODB_"))},
        **env_aws,
        "TALLY_JOB": "consolidate",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "cat-bench-lambda-tokens-consolidated",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(LIMITS["memory_mb"]),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "DYNAMODB_TABLE_NAME": table,
        "S3_BUCKET_NAME": bucket,
        "S3_OUTPUT_PREFIX": "tokens-analysis/",
        "S3_OLD_DATA_PREFIX": "archives/tokens-analysis/",
        "FILTER_DATE_START": START,
    }
    proc = subprocess.Popen([TALLY, "lambda"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kind, answer, seconds = api.invoke("bench-1", event, timeout=LIMITS["seconds"] * 4)
        rss = peak_rss_mb(proc.pid)
        cpu = cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        api.close()
    assert kind == "response" and answer.get("statusCode") == 200, f"{label}: the function failed: {answer}"
    written = s3.get_object(Bucket=bucket, Key=OUTPUT_KEY)["Body"].read()
    with tempfile.TemporaryDirectory() as tmp:
        local = local_consolidation(dump, history, os.path.join(tmp, "local.csv"))
    assert written == local, f"{label}: the Lambda's output differs from `tally consolidate --dump` of the same items"
    if expected is not None:
        with open(expected, "rb") as f:
            assert written == f.read(), f"{label}: the output is not {expected}"
    stats = answer["body"]["statistics"]
    return {
        "case": label,
        "input": "table scan" if scan else "dump in S3 (event: dump)",
        "items": items,
        "rows": stats["total_records"],
        "table_load_s": round(load_s, 1),
        "invocation_s": round(seconds, 2),
        "tally_cpu_s": round(cpu, 2),
        "peak_rss_mb": round(rss, 1),
        "output_bytes": len(written),
    }


def main():
    replicas = int(sys.argv[1]) if len(sys.argv) > 1 else 167
    moto = os.environ.get("TALLY_MOTO_SERVER") or os.path.join(
        os.environ.get("TALLY_TOOLS", os.path.expanduser("~/.cache/tally")), "moto", "bin", "moto_server")
    big = os.path.join(ROOT, "bench", "data", f"new-x{replicas}.jsonl")
    if not os.path.exists(big):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "job", "make_dump.py"), str(replicas), big,
                        "--table", "new_table.jsonl"], check=True)
    port = free_port()
    server = subprocess.Popen([moto, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        env_aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
        results = [
            one_case("fixtures", os.path.join(FIXTURES, "new_table.jsonl"), endpoint, env_aws,
                     expected=os.path.join(FIXTURES, "expected_consolidated.csv")),
            # moto's Scan re-reads the table for every page (a 100k-item scan takes over 20 minutes):
            # the large case reads the same items as a dump from S3, as `{"dump": ...}` lets a run do.
            one_case(f"x{replicas}", big, endpoint, env_aws, scan=False),
        ]
    finally:
        server.terminate()
        server.wait()
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "out", "lambda.json"), "w") as f:
        json.dump({"limits": LIMITS, "results": results}, f, indent=1)
    print("| case | input | items | rows written | invocation (moto) | tally's CPU time | peak RSS | seed's limits |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['case']} | {r['input']} | {r['items']:,} | {r['rows']:,} | {r['invocation_s']} s | {r['tally_cpu_s']} s "
              f"| {r['peak_rss_mb']} MiB | {LIMITS['seconds']} s, {LIMITS['memory_mb']} MB |")
    print("Each answer was a 200 and its S3 output equal to `tally consolidate --dump` of the same items "
          "(the fixtures: also expected_consolidated.csv). Table loading into moto is not counted; the invocation's "
          "time is mostly moto's (a Python emulator) answering the scan, so tally's own CPU time is given beside it.")
    for r in results:
        print(f"figure: lambda.{r['case']}.seconds={r['invocation_s']}")
        print(f"figure: lambda.{r['case']}.cpu_s={r['tally_cpu_s']}")
        print(f"figure: lambda.{r['case']}.rss_mb={r['peak_rss_mb']}")


if __name__ == "__main__":
    main()
