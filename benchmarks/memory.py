"""Peak memory of streaming prediction: 1k vs 10k vs 100k short notes through ``predict_iter``.

Short notes are MTSamples' one-line descriptions, cycled to the requested count and fed as a generator
(never a list). Each count runs in a fresh subprocess; the table shows peak RSS after loading the model
and after predicting, so the working set is the difference. Document level, packaged all-MiniLM-L6-v2.

    python benchmarks/memory.py [--counts 1000,100000] [--level document] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(count: int, level: str) -> dict:
    import numpy as np

    import nlu_lite

    with DATA.open(newline="", encoding="utf-8") as f:
        descriptions = [row["description"] for row in csv.DictReader(f) if row["description"].strip()]
    pipe = nlu_lite.load()
    pipe.predict("warm up", output_level=level)
    loaded = peak_mb()
    notes = (text for text in itertools.islice(itertools.cycle(descriptions), count))
    rows, checksum = 0, 0.0
    start = time.perf_counter()
    for frame in pipe.predict_iter(notes, output_level=level, chunk_size=256):
        rows += len(frame)
        checksum += float(np.stack(frame[pipe.column_name].to_list())[:, 0].sum())
    seconds = time.perf_counter() - start
    return {"notes": count, "level": level, "rows": rows, "seconds": seconds, "notes_per_s": count / seconds,
            "rss_after_load_mb": loaded, "peak_rss_mb": peak_mb(), "working_set_mb": peak_mb() - loaded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1000,10000,100000")
    parser.add_argument("--level", default="document", choices=["token", "sentence", "document"])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.level)))
        return 0
    results = []
    for count in (int(c) for c in args.counts.split(",")):
        proc = subprocess.run([sys.executable, __file__, "--one", str(count), "--level", args.level],
                              capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-2000:], file=sys.stderr)
            return proc.returncode
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"  {count} notes done", file=sys.stderr)
    print("| notes | level | output rows | seconds | notes/s | RSS after load MB | peak RSS MB | working set MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['notes']:,} | {r['level']} | {r['rows']:,} | {r['seconds']:.1f} | {r['notes_per_s']:.0f} | "
              f"{r['rss_after_load_mb']:.0f} | {r['peak_rss_mb']:.0f} | {r['working_set_mb']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
