"""Can the CPU side feed a device? The whole pipeline with a forward that takes no time, at every level.

A fast GPU leaves the CPU one job: reading the input, segmenting it (spaCy), tokenizing it, batching it,
pooling the outputs and building the DataFrame. This benchmark measures that job alone: the packaged
all-MiniLM-L6-v2's tokenizer and settings, with the runtime replaced by ``zero`` (registered here as any runtime
is), whose forward returns zeros of the right shape at once. Wordpieces/s counts the wordpieces the encoder
was given (``last_stats["wordpieces"]``: windows included, so document level counts the overlap of long notes
twice); goals on 2 cores (issue 22): 150,000 at sentence and token level, 400,000 at document level.

Variants, each in its own process, interleaved round by round so a busy shared machine slows them alike
(figures: the median over rounds; ratios: the median of per-round ratios to the first variant):
- ``prefetch off``: this checkout, each chunk prepared and encoded in turn (``prefetch=False``);
- ``prefetch on``: this checkout, the next chunk prepared on a worker thread (the default);
- ``before``: with ``--before PATH``, another checkout of nlu_lite (e.g. the commit before this work) run the
  same way with its defaults.

Document level also runs at ``window_overlap`` 0.5 (the default), 0.25 and 0 to show what windows cost.

    python benchmarks/feed.py                                   # 300 MTSamples notes, 3 rounds
    python benchmarks/feed.py --before /path/to/old/checkout --rounds 5 --json feed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mtsamples
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ("document", "sentence", "token")
OVERLAPS = (0.5, 0.25, 0.0)


class ZeroRuntime:
    """A runtime whose forward takes no time: zeros of the shape the pipeline expects."""

    name = "zero"
    device = "cpu"
    precision = "fp32"
    compute = "zero forward"
    threads = None
    chosen = ""

    def __init__(self, dim: int, num_layers: int) -> None:
        self.dim, self.num_layers = dim, num_layers

    def forward(self, ids, mask, layers=(-1,)):
        return np.zeros((len(layers), *ids.shape, self.dim), dtype=np.float32)


def open_runtime(folder, *, family=None, device="auto", precision=None, threads=None) -> ZeroRuntime:
    config = json.loads((Path(folder) / "config.json").read_text("utf-8"))
    return ZeroRuntime(config["hidden_size"], config["num_hidden_layers"])


def child(n_notes: int, new: bool, prefetch: bool) -> None:
    """One variant's measurement, printed as one JSON line: seconds and wordpieces per level."""
    import nlu_lite
    from nlu_lite import runtimes

    runtimes.register(runtimes.RuntimeInfo("zero", __name__, ("fp32",), description="a zero-time forward"))
    notes = mtsamples.column("transcription", n_notes)
    pipe = nlu_lite.load(runtime="zero")
    options = {"progress": False, **({"prefetch": prefetch} if new else {})}
    pipe.predict(notes[:20], output_level="token", **options)  # spaCy, the tokenizer and numpy warmed up
    runs = [(level, None) for level in LEVELS]
    if new:
        runs += [("document", overlap) for overlap in OVERLAPS if overlap != 0.5]
    result = {}
    for level, overlap in runs:
        extra = {} if overlap is None else {"window_overlap": overlap}
        start = time.perf_counter()
        pipe.predict(notes, output_level=level, **options, **extra)
        seconds = time.perf_counter() - start
        name = level if overlap is None else f"document, window_overlap={overlap}"
        result[name] = {"seconds": seconds, "wordpieces": int(pipe.last_stats["wordpieces"]),
                        "stages": {k: round(v, 3) for k, v in pipe.last_stats.items() if k.endswith("_s")}}
    print(json.dumps(result))


def cpu() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")
    return f"{model}, {os.cpu_count()} CPUs, flags: {' '.join(f for f in wanted if f in flags) or 'none of AVX2+'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another nlu_lite checkout to compare against")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=["new-on", "new-off", "old"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.notes, args.child != "old", args.child == "new-on")
        return
    if mtsamples.column("transcription", 1) is None:
        return
    variants = {"prefetch off": ("new-off", ROOT), "prefetch on": ("new-on", ROOT)}
    if args.before is not None:
        variants["before"] = ("old", args.before.resolve())
    print(f"CPU: {cpu()}; {args.notes} MTSamples notes, zero-time forward, {args.rounds} rounds")
    rounds: list[dict] = []
    for r in range(args.rounds):
        found = {"load_before": os.getloadavg()[0]}
        for name, (kind, checkout) in variants.items():
            env = {**os.environ, "PYTHONPATH": str(checkout)}
            out = subprocess.run([sys.executable, __file__, "--child", kind, "--notes", str(args.notes)], env=env,
                                 capture_output=True, text=True, check=True).stdout
            found[name] = json.loads(out.strip().splitlines()[-1])
        found["load_after"] = os.getloadavg()[0]
        rounds.append(found)
        print(f"round {r + 1}: load average {found['load_before']:.1f} -> {found['load_after']:.1f}", flush=True)
    first = next(iter(variants))
    print(f"\n| level | variant | wordpieces | seconds | wordpieces/s | vs {first} |\n|---|---|---:|---:|---:|---:|")
    table = []
    for level in rounds[0][first]:
        for name in variants:
            if level not in rounds[0][name]:
                continue
            seconds = statistics.median(r[name][level]["seconds"] for r in rounds)
            pieces = rounds[0][name][level]["wordpieces"]
            ratio = statistics.median(r[first][level]["seconds"] / r[name][level]["seconds"] for r in rounds)
            table.append({"level": level, "variant": name, "wordpieces": pieces, "seconds": seconds,
                          "wordpieces_per_s": pieces / seconds, "speedup": ratio})
            print(f"| {level} | {name} | {pieces:,} | {seconds:.2f} | {pieces / seconds:,.0f} | {ratio:.2f}x |")
    if args.json is not None:
        args.json.write_text(json.dumps({"cpu": cpu(), "notes": args.notes, "rounds": rounds, "table": table},
                                        indent=1))


if __name__ == "__main__":
    main()
