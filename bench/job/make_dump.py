#!/usr/bin/env python3
"""Writes a large dump for the job benchmark: a fixture table replicated
REPLICAS times with new keys (`<pk>-r<k>`), as Export-to-S3 JSON lines.
No key appears inside a message map, so each replica counts the same
tokens: the job's statistics must be the fixture's times REPLICAS.

    python3 bench/job/make_dump.py REPLICAS OUT.jsonl [--table old_table.jsonl] [--gzip]
"""
import gzip
import json
import os
import sys


def main():
    replicas = int(sys.argv[1])
    out = sys.argv[2]
    table = sys.argv[sys.argv.index("--table") + 1] if "--table" in sys.argv else "old_table.jsonl"
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.environ.get("TALLY_FIXTURES", os.path.join(here, "..", "..", "..", "shared", "fixtures"))
    with open(os.path.join(fixtures, table), encoding="utf-8") as f:
        base = [line.rstrip("\n") for line in f if line.strip()]
    pks = [json.loads(line)["Item"].get("PK", {}).get("S") for line in base]
    opener = gzip.open if "--gzip" in sys.argv else open
    with opener(out, "wt", encoding="utf-8") as f:
        for r in range(replicas):
            for line, pk in zip(base, pks):
                f.write((line.replace(pk, f"{pk}-r{r:04d}") if pk else line) + "\n")


if __name__ == "__main__":
    main()
