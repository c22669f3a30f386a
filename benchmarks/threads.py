"""CPU threads: torch's default against 1 and 2 threads, interleaved rounds, each in a fresh subprocess.

Run it once on a quiet machine and once on a busy one (e.g. beside a second copy of itself); the default rule in
``runtimes/torch_runtime.py`` comes from these numbers. Sentence level, packaged all-MiniLM-L6-v2, MTSamples notes.

    python benchmarks/threads.py [--notes 40] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mtsamples


def run_one(threads: str, notes: int) -> float:
    import nlu_lite

    texts = mtsamples.column("transcription", notes)
    pipe = nlu_lite.load(threads=None if threads == "default" else int(threads), progress=False)
    pipe.predict(texts[:2], output_level="sentence")
    start = time.perf_counter()
    pipe.predict(texts, output_level="sentence")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settings", default="default,1,2")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.notes)))
        return 0
    if mtsamples.column("transcription", 1) is None:
        return 0
    times: dict[str, list[float]] = {s: [] for s in args.settings.split(",")}
    for _ in range(args.rounds):
        for setting in times:
            out = subprocess.run([sys.executable, __file__, "--one", setting, "--notes", str(args.notes)],
                                 capture_output=True, text=True, check=True)
            times[setting].append(json.loads(out.stdout.splitlines()[-1]))
    load = os.getloadavg()[0]
    base = statistics.median(times[next(iter(times))])
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs; {args.notes} notes, {args.rounds} interleaved rounds")
    print("| threads | median s | min s | max s | time vs first |\n|---|---:|---:|---:|---:|")
    for setting, values in times.items():
        print(f"| {setting} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} | "
              f"{statistics.median(values) / base:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"load": load, "times": times}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
