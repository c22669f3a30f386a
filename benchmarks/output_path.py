"""Peak memory and time of writing a token-level result to Parquet: streamed (``predict(..., output_path=)``,
one row group per chunk) against in memory (``predict`` then ``nlu_lite.provenance.write_parquet``).

MTSamples transcriptions (whole notes), packaged all-MiniLM-L6-v2, each mode in a fresh subprocess; the table
shows peak RSS after loading the model and after writing, so the working set is the difference.

    python benchmarks/output_path.py [--notes 2000] [--level token] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mtsamples  # noqa: E402
from machine import cpu  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(mode: str, count: int, level: str, target: Path) -> dict:
    import nlu_lite

    notes = mtsamples.column("transcription", count)
    pipe = nlu_lite.load(progress=False)
    pipe.predict("warm up. Chest pain.", output_level=level)
    loaded = peak_mb()
    start = time.perf_counter()
    if mode == "stream":
        rows = pipe.predict(notes, output_level=level, output_path=target).rows
    else:
        frame = pipe.predict(notes, output_level=level)
        nlu_lite.provenance.write_parquet(frame, target)
        rows = len(frame)
    seconds = time.perf_counter() - start
    return {"mode": mode, "notes": len(notes), "level": level, "rows": rows, "seconds": seconds,
            "file_mb": target.stat().st_size / 2**20, "rss_after_load_mb": loaded, "peak_rss_mb": peak_mb(),
            "working_set_mb": peak_mb() - loaded}




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--level", default="token", choices=["token", "sentence", "document"])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.notes, args.level, args.target)))
        return 0
    if mtsamples.column("transcription", 1) is None:
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("stream", "memory"):
            target = Path(tmp) / f"{mode}.parquet"
            proc = subprocess.run([sys.executable, __file__, "--one", mode, "--notes", str(args.notes), "--level",
                                   args.level, "--target", str(target)], capture_output=True, text=True)
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                return proc.returncode
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"  {mode} done", file=sys.stderr)
    print(f"CPU: {cpu()}")
    print("| mode | notes | level | rows | seconds | file MB | RSS after load MB | peak RSS MB | working set MB |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['mode']} | {r['notes']:,} | {r['level']} | {r['rows']:,} | {r['seconds']:.1f} | "
              f"{r['file_mb']:.0f} | {r['rss_after_load_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
              f"{r['working_set_mb']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
