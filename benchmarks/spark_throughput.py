"""MTSamples notes through local Spark (mapInPandas on the executors) and through plain pandas.

Same pipeline, same notes, same output level; prints notes/s, wordpieces/s and Spark's overhead.

    python benchmarks/spark_throughput.py [--notes 200] [--partitions 2] [--level sentence] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--level", default="sentence", choices=["token", "sentence", "document"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per worker for the Spark run (default: torch's choice)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import pandas as pd
    from pyspark.sql import SparkSession

    import nlu_lite

    with DATA.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["transcription"].strip()][: args.notes]
    notes = pd.DataFrame({"note_id": [int(r["note_id"]) for r in rows], "text": [r["transcription"] for r in rows]})
    pipe = nlu_lite.load()  # the packaged all-MiniLM-L6-v2, a local path every executor of local[*] can read
    pipe.predict("warm up")

    start = time.perf_counter()
    local = pipe.predict(notes, output_level=args.level, id_column="note_id", progress=False)
    pandas_s = time.perf_counter() - start
    wordpieces = pipe.last_stats["wordpieces"]

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master(f"local[{args.partitions}]").config("spark.ui.enabled", "false")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
             .getOrCreate())
    sdf = spark.createDataFrame(notes).repartition(args.partitions).cache()
    sdf.count()
    spark_pipe = nlu_lite.load(threads=args.threads) if args.threads else pipe
    start = time.perf_counter()
    result = spark_pipe.predict(sdf, output_level=args.level, id_column="note_id")
    spark_rows = result.count()  # an action on the executors; nothing is collected to the driver
    spark_s = time.perf_counter() - start
    spark.stop()

    table = [
        {"path": "pandas", "seconds": pandas_s, "rows": len(local)},
        {"path": f"spark local[{args.partitions}], {args.partitions} partitions, threads={args.threads or 'default'}",
         "seconds": spark_s,
         "rows": spark_rows},
    ]
    print(f"{args.notes} MTSamples notes, {wordpieces:,} wordpieces, level={args.level}, all-MiniLM-L6-v2, "
          f"{os.cpu_count()} cores")
    print("| path | output rows | seconds | notes/s | wordpieces/s | time vs pandas |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in table:
        print(f"| {r['path']} | {r['rows']:,} | {r['seconds']:.1f} | {args.notes / r['seconds']:.1f} | "
              f"{wordpieces / r['seconds']:,.0f} | {r['seconds'] / pandas_s:.2f}× |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
