#!/usr/bin/env python3
"""Writes a large dump for the job benchmark: the two fixture tables
replicated with new keys (`<pk>-r<k>`), as Export-to-S3 JSON lines.

    python3 bench/job/make_dump.py ITEMS OUT.jsonl [--gzip]
"""
import gzip
import json
import os
import sys


def main():
    items = int(sys.argv[1])
    out = sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.environ.get("TALLY_FIXTURES", os.path.join(here, "..", "..", "..", "shared", "fixtures"))
    base = []
    for table in ("old_table.jsonl", "new_table.jsonl"):
        with open(os.path.join(fixtures, table), encoding="utf-8") as f:
            base += [line.rstrip("\n") for line in f if line.strip()]
    pks = []
    for line in base:
        pks.append(json.loads(line)["Item"].get("PK", {}).get("S"))
    opener = gzip.open if "--gzip" in sys.argv else open
    with opener(out, "wt", encoding="utf-8") as f:
        for i in range(items):
            k, r = i % len(base), i // len(base)
            line = base[k]
            if pks[k]:
                line = line.replace(pks[k], f"{pks[k]}-r{r:04d}")
            f.write(line + "\n")


if __name__ == "__main__":
    main()
