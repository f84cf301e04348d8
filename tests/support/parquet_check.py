"""Reads a Parquet output of tally with pyarrow (a reader that is not ours)
and holds it against the CSV of the same run: every value, every type.

    parquet_check.py rows|users PARQUET(file, or folder of dt=*/ partitions) CSV

Exits 1 with the first difference; prints "ok <rows> rows" otherwise.
"""
import csv
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

csv.field_size_limit(1 << 31)

TS = pa.timestamp("ms")
SCHEMAS = {
    "rows": [
        ("create_date", TS, True),
        ("input_token", pa.int64(), False),
        ("output_token", pa.int64(), False),
        ("precio_token_input", pa.decimal128(10, 6), False),
        ("precio_token_output", pa.decimal128(10, 6), False),
        ("total_price", pa.decimal128(10, 6), False),
        ("pk", pa.string(), False),
        ("sk", pa.string(), False),
        ("source", pa.string(), False),
    ],
    "users": [
        ("usuario_id", pa.string(), False),
        ("nombre", pa.string(), False),
        ("email", pa.string(), False),
        ("fecha_primera_conversacion", TS, True),
        ("fecha_ultima_conversacion", TS, True),
        ("numero_conversaciones", pa.int64(), False),
        ("lista_preguntas", pa.string(), False),
        ("feedback_likes", pa.int64(), False),
        ("feedback_dislikes", pa.int64(), False),
        ("feedback_ultima_respuesta", pa.string(), False),
        ("tokens_total", pa.int64(), False),
        ("costo_estimado_usd", pa.decimal128(18, 6), False),
    ],
}


def cell(value, typ):
    """A Parquet value as the CSV writes it."""
    if value is None:
        return ""
    if typ == TS:
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Decimal):
        return f"{value:.6f}"
    return str(value)


def main():
    kind, path, csv_path = sys.argv[1:4]
    partitioned = not path.endswith(".parquet")
    if partitioned:
        table = ds.dataset(path, format="parquet", partitioning="hive", exclude_invalid_files=False).to_table()
    else:
        table = pq.read_table(path)
        meta = pq.ParquetFile(path).metadata
        assert meta.row_group(0).column(0).compression == "SNAPPY", meta.row_group(0).column(0).compression
        assert meta.row_group(0).column(1).statistics is not None, "statistics are written"
    want = SCHEMAS[kind]
    fields = [(f.name, f.type, f.nullable) for f in table.schema]
    if partitioned:
        assert fields[-1][0] == "dt", fields[-1]
        fields = fields[:-1]
    assert fields == want, f"schema {fields} != {want}"
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    assert header == [name for name, _, _ in want], header
    got = table.to_pylist()
    assert len(got) == len(rows), f"{len(got)} rows in Parquet, {len(rows)} in the CSV"
    cells = [[cell(r[name], typ) for name, typ, _ in want] for r in got]
    if partitioned:
        for r, c in zip(got, cells):
            day = c[0][:10] if c[0] else "1970-01-01"
            assert r["dt"] in (day, day[:7]), f"{r['dt']} holds a row of {c[0]!r}"
        # Partitions are read in their own order; the rows are the same.
        cells.sort()
        rows.sort()
    for k, (a, b) in enumerate(zip(cells, rows)):
        assert a == b, f"row {k + 1}: Parquet {a[:9]} != CSV {b[:9]}"
    print(f"ok {len(rows)} rows")


main()
