"""MTSamples notes through plain pandas, local Spark and a standalone cluster whose worker gets the model shipped.

Same pipeline (the packaged all-MiniLM-L6-v2), same notes, same output level. Paths, in this order, so that
the pandas run before and after the Spark ones shows how the machine's load drifted:

1. pandas (``pipe.predict(frame)``);
2. ``local[P]``, P partitions: a cold job (Python workers start, import nlu_lite, load the model) then a warm
   one (workers and model reused), timed apart; the executors read the driver's model folder;
3. a standalone master and worker on 127.0.0.1 (tests/spark_cluster.py, the helper tests/test_spark_cluster.py
   uses), the worker in its own mount namespace without the model's folder where ``unshare -m`` works, with
   ``ship_model=True``: the cold job includes the bundle, zip, fetch and model load; then a warm one;
4. pandas again.

Each Spark job ends in ``count()`` (computed on the executors, nothing collected). Prints a Markdown table with
seconds, rows, units/s, wordpieces/s and time against the mean of the pandas runs, the CPU and load average.

    python benchmarks/spark_throughput.py [--notes 60] [--level sentence] [--partitions 2] [--threads N]
                                          [--no-cluster] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu, load_average

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"






def session(master: str, partitions: int):
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(master).appName("nlu_lite-benchmark").config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", str(partitions)).config("spark.executor.memory", "2g")
            .getOrCreate())


def spark_jobs(pipe, notes, master: str, partitions: int, level: str, **options) -> list[tuple[str, float, int]]:
    """A cold and a warm job on a new session (the session's own start is not timed)."""
    spark = session(master, partitions)
    try:
        sdf = spark.createDataFrame(notes).repartition(partitions).cache()
        sdf.count()
        times = []
        for run in ("cold", "warm"):
            start = time.perf_counter()
            rows = pipe.predict(sdf, output_level=level, id_column="note_id", **options).count()
            times.append((run, time.perf_counter() - start, rows))
        return times
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=60, help="the first N non-empty MTSamples notes")
    parser.add_argument("--level", default="sentence", choices=["token", "sentence", "document"])
    parser.add_argument("--partitions", type=int, default=2, help="partitions, local[N] threads and worker cores")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per Spark worker (default: the driver pipeline's)")
    parser.add_argument("--no-cluster", action="store_true", help="leave out the standalone-cluster path")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent (MTSamples, in the shared data folder beside the repository)")
        return 0

    import pandas as pd

    import nlu_lite

    with DATA.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["transcription"].strip()][: args.notes]
    notes = pd.DataFrame({"note_id": [int(r["note_id"]) for r in rows], "text": [r["transcription"] for r in rows]})
    pipe = nlu_lite.load()  # the packaged all-MiniLM-L6-v2
    pipe.predict("warm up")
    import torch

    threads = torch.get_num_threads()  # the library's thread rule at load, which the executors get too
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark_pipe = nlu_lite.load(threads=args.threads) if args.threads else pipe  # executors get its threads
    load_before = load_average()

    def pandas_run() -> tuple[float, int, int]:
        start = time.perf_counter()
        rows = len(pipe.predict(notes, output_level=args.level, id_column="note_id", progress=False))
        return time.perf_counter() - start, rows, pipe.last_stats["wordpieces"]

    table: list[dict] = []
    seconds, n, wordpieces = pandas_run()
    table.append({"path": "pandas (before)", "seconds": seconds, "rows": n})
    for run, seconds, n in spark_jobs(spark_pipe, notes, f"local[{args.partitions}]", args.partitions, args.level):
        table.append({"path": f"Spark local[{args.partitions}], {run} job, model read at its path",
                      "seconds": seconds, "rows": n})
    if not args.no_cluster:
        sys.path.insert(0, str(ROOT / "tests"))
        from spark_cluster import can_hide_folders, standalone

        hidden = Path(pipe.source.folder).parent if can_hide_folders() else None
        with tempfile.TemporaryDirectory(prefix="nlu_lite-cluster-") as logs, \
                standalone(Path(logs), hidden=hidden, cores=args.partitions, memory="3g") as master:
            where = "worker without the model folder" if hidden is not None else "worker sees the folder"
            for run, seconds, n in spark_jobs(spark_pipe, notes, master, args.partitions, args.level,
                                              ship_model=True):
                table.append({"path": f"standalone cluster, 1 worker x {args.partitions} cores, {run} job, "
                                      f"model shipped ({where})", "seconds": seconds, "rows": n})
    seconds, n, _ = pandas_run()
    table.append({"path": "pandas (after)", "seconds": seconds, "rows": n})

    pandas_s = (table[0]["seconds"] + table[-1]["seconds"]) / 2
    print(f"{args.notes} MTSamples notes, {wordpieces:,} wordpieces, level={args.level}, "
          f"{table[0]['rows']:,} output rows, all-MiniLM-L6-v2 fp32, {args.partitions} partitions")
    print(f"torch threads: pandas {threads}, each Spark worker {args.threads or threads}")
    print(f"CPU: {cpu()}; load average before {load_before}, after {load_average()}; "
          f"{time.strftime('%Y-%m-%d', time.gmtime())}")
    print("| path | output rows | seconds | rows/s | wordpieces/s | time vs pandas |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in table:
        print(f"| {r['path']} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:.1f} | "
              f"{wordpieces / r['seconds']:,.0f} | {r['seconds'] / pandas_s:.2f}× |")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu(), "wordpieces": wordpieces, "torch_threads": threads,
                                         "worker_threads": args.threads or threads, "rows": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
