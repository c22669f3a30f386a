"""Can the CPU side feed a device? The whole pipeline with a forward that takes no time, at every level.

A fast GPU leaves the CPU one job: reading the input, segmenting it (spaCy), tokenizing it, batching it,
pooling the outputs and building the DataFrame. This benchmark measures that job alone: the packaged
all-MiniLM-L6-v2's tokenizer and settings, with the runtime replaced by ``zero`` (registered here as any runtime
is), whose forward returns zeros of the right shape at once. Wordpieces/s counts the wordpieces the encoder
was given (``last_stats["wordpieces"]``: windows included, so document level counts the overlap of long notes
twice); goals on 2 cores (issue 22): 150,000 at sentence and token level, 400,000 at document level.

Variants, each in its own process, interleaved round by round so a busy shared machine slows them alike
(figures: the median over rounds; ratios: the median of per-round ratios to ``before``, else to the first
variant). Each process calls ``predict`` ``--repeats`` times per level: the first call is reported apart, since
it also pays for the memory the process first takes from the OS (on this VM 0.3 s per fresh 230 MB with huge
pages); the later calls are what a long job sees chunk after chunk. Wall seconds say what a quiet machine would
see only when it is quiet; CPU seconds (every thread of the process and of its segmentation processes, with
psutil installed) measure the work done and are far less disturbed by other processes, but do not show overlap:
- ``prefetch off``: this checkout, each chunk prepared and encoded in turn (``prefetch=False``);
- ``prefetch on``: this checkout, the next chunk prepared on a worker thread (the default);
- ``1 segment process`` / ``2 segment processes``: also spaCy in that many worker processes
  (``segment_processes``, what ``"auto"`` chooses beside a GPU);
- ``before``: with ``--before PATH``, another checkout of nlu_lite (e.g. the commit before this work) run the
  same way with its defaults.

Document level also runs at ``window_overlap`` 0.5 (the default), 0.25 and 0 to show what windows cost.

    python benchmarks/feed.py                                   # 300 MTSamples notes, 3 rounds
    python benchmarks/feed.py --before /path/to/old/checkout --rounds 5 --json feed.json
    python benchmarks/feed.py --seams 128 256 40              # window_overlap: cost and seam accuracy
    python benchmarks/feed.py --peak token --before PATH      # peak memory of one chunk, this checkout and another
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
import numpy as np
from machine import cpu

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


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its live children (the segmentation processes), where psutil is
    installed; else of this process only."""
    try:
        import psutil
    except ImportError:
        return time.process_time()
    me = psutil.Process()
    return sum(sum(p.cpu_times()[:2]) for p in [me, *me.children(recursive=True)])


def _zero_pipeline(n_notes: int):
    """The first ``n_notes`` MTSamples notes and the packaged model's pipeline on the ``zero`` runtime."""
    import nlu_lite
    from nlu_lite import runtimes

    runtimes.register(runtimes.RuntimeInfo("zero", __name__, ("fp32",), description="a zero-time forward"))
    return mtsamples.column("transcription", n_notes), nlu_lite.load(runtime="zero")


def child(n_notes: int, options: dict, new: bool, repeats: int) -> None:
    """One variant's measurement, printed as one JSON line: seconds and wordpieces per level, for the first call
    and for the calls after it in the same process."""
    notes, pipe = _zero_pipeline(n_notes)
    options = {"progress": False, **options}
    pipe.predict(notes[:20], output_level="token", **options)  # spaCy, the tokenizer, processes and numpy warmed up
    runs = [(level, None) for level in LEVELS]
    if new:
        runs += [("document", overlap) for overlap in OVERLAPS if overlap != 0.5]
    result = {}
    for level, overlap in runs:
        extra = {} if overlap is None else {"window_overlap": overlap}
        times = []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            pipe.predict(notes, output_level=level, **options, **extra)
            times.append((time.perf_counter() - start, _cpu_seconds() - cpu_start))
        name = level if overlap is None else f"document, window_overlap={overlap}"
        later = times[1:] or times
        result[name] = {"seconds": times[0][0], "cpu_seconds": times[0][1],
                        "repeat_seconds": statistics.median(t for t, _ in later),
                        "repeat_cpu_seconds": statistics.median(c for _, c in later),
                        "wordpieces": int(pipe.last_stats["wordpieces"]),
                        "stages": {k: round(v, 3) for k, v in pipe.last_stats.items() if k.endswith("_s")}}
    print(json.dumps(result))


def seams(window: int, reference: int, n_notes: int) -> None:
    """``window_overlap``'s cost and seam accuracy with the real model: MTSamples notes longer than ``window``
    but within ``reference`` wordpieces, encoded in windows and in one ``reference``-wordpiece window (full context);
    mean cosine of every wordpiece's vector and of each note's mean-pooled vector to the full-context ones."""
    from collections import Counter

    import nlu_lite
    from nlu_lite.pipeline import _batching as batching
    from nlu_lite.pipeline._encoding import encode

    pipe = nlu_lite.load()
    tokenizer = pipe.encoder.tokenizer
    notes = [n for n in mtsamples.column("transcription")
             if window < len(tokenizer(n.strip())["input_ids"]) <= reference][:n_notes]
    doc = np.arange(len(notes))
    wp = batching.tokenize_units(tokenizer, notes, doc, np.zeros_like(doc), np.asarray([len(n) for n in notes]))
    common = {"batch_tokens": 8192, "max_batch_size": 64}

    def cosines(a, b):
        return np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    full = {t: encode(pipe.encoder, wp, window=reference, target=t, stats=Counter(), **common)
            for t in ("wordpieces", "mean")}
    full["wordpieces"] = full["wordpieces"].dense()
    print(f"\n{len(notes)} notes of {window + 1}-{reference} wordpieces ({len(wp.ids):,} in all), window {window}, "
          f"reference: one {reference}-wordpiece window\n\n| window_overlap | wordpieces encoded (x the text's) | "
          "wordpiece cosine, mean | 5th percentile | note cosine, mean | minimum |\n|---:|---:|---:|---:|---:|---:|")
    for overlap in (0.0, 0.25, 0.5, 0.75):
        stats = Counter()
        pieces = cosines(encode(pipe.encoder, wp, window=window, target="wordpieces", stats=stats,
                                window_overlap=overlap, **common).dense(), full["wordpieces"])
        pooled = cosines(encode(pipe.encoder, wp, window=window, target="mean", stats=Counter(),
                                window_overlap=overlap, **common), full["mean"])
        print(f"| {overlap} | {stats['wordpieces'] / (len(wp.ids) + 2 * len(notes)):.2f} | {pieces.mean():.4f} | "
              f"{np.percentile(pieces, 5):.4f} | {pooled.mean():.4f} | {pooled.min():.4f} |")




def peak(n_notes: int, level: str) -> None:
    """How much the process's peak memory grows over one ``predict`` of every note in one chunk (zero forward),
    printed as one JSON line; ``--before`` runs the other checkout the same way first."""
    import resource

    notes, pipe = _zero_pipeline(n_notes)
    pipe.predict(notes[:20], output_level=level, progress=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = len(pipe.predict(notes, output_level=level, progress=False, chunk_size=len(notes)))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    print(json.dumps({"level": level, "rows": rows, "peak_growth_mb": round(grown)}))


VARIANTS = {  # name: predict() options of this checkout
    "prefetch off": {"prefetch": False, "segment_processes": 0},
    "prefetch on": {"segment_processes": 0},
    "1 segment process": {"segment_processes": 1},
    "2 segment processes": {"segment_processes": 2},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="calls per level in each process: the first call "
                        "is reported apart from the later ones (the median of those)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--before", type=Path, help="another nlu_lite checkout to compare against")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--seams", nargs=3, type=int, metavar=("WINDOW", "REFERENCE", "NOTES"),
                        help="window_overlap's cost and seam accuracy instead, e.g. --seams 128 256 40")
    parser.add_argument("--peak", choices=LEVELS, help="peak memory growth of one predict at this level instead "
                        "(Linux, macOS: ru_maxrss), this checkout and --before's")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak and args.child:
        peak(args.notes, args.peak)
        return
    if args.child:
        child(args.notes, VARIANTS.get(args.child, {}), args.child != "before", args.repeats)
        return
    if mtsamples.column("transcription", 1) is None:
        return
    if args.seams:
        seams(*args.seams)
        return
    if args.peak:
        checkouts = {**({"before": args.before.resolve()} if args.before else {}), "this checkout": ROOT}
        print(f"CPU: {cpu()}; {args.notes} MTSamples notes in one chunk, zero-time forward, {args.peak} level\n\n"
              "| checkout | rows | peak memory growth (MB) |\n|---|---:|---:|")
        for name, checkout in checkouts.items():
            out = subprocess.run([sys.executable, __file__, "--child", "peak", "--peak", args.peak, "--notes",
                                  str(args.notes)], env={**os.environ, "PYTHONPATH": str(checkout)},
                                 capture_output=True, text=True, check=True).stdout
            found = json.loads(out.strip().splitlines()[-1])
            print(f"| {name} | {found['rows']:,} | {found['peak_growth_mb']:,} |")
        return
    variants = {name: ROOT for name in args.variants}
    if args.before is not None:
        variants = {"before": args.before.resolve(), **variants}
    print(f"CPU: {cpu()}; {args.notes} MTSamples notes, zero-time forward, {args.rounds} rounds, {args.repeats} calls "
          "per level in each process")
    rounds: list[dict] = []
    for r in range(args.rounds):
        found = {"load_before": os.getloadavg()[0]}
        for name, checkout in variants.items():
            env = {**os.environ, "PYTHONPATH": str(checkout)}
            out = subprocess.run([sys.executable, __file__, "--child", name, "--notes", str(args.notes),
                                  "--repeats", str(args.repeats)], env=env, capture_output=True, text=True,
                                 check=True).stdout
            found[name] = json.loads(out.strip().splitlines()[-1])
        found["load_after"] = os.getloadavg()[0]
        rounds.append(found)
        print(f"round {r + 1}: load average {found['load_before']:.1f} -> {found['load_after']:.1f}", flush=True)
    base = next(iter(variants))
    print(f"\n| level | variant | wordpieces | first call: seconds | wordpieces/s | later calls: seconds | "
          f"wordpieces/s | speed-up vs {base} (later calls) | CPU seconds (later calls) | wordpieces per CPU second |"
          "\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    table = []
    for level in rounds[0][base]:
        for name in variants:
            if level not in rounds[0][name]:
                continue
            first, later, cpu_seconds = (statistics.median(r[name][level][k] for r in rounds)
                                         for k in ("seconds", "repeat_seconds", "repeat_cpu_seconds"))
            pieces = rounds[0][name][level]["wordpieces"]
            ratio = statistics.median(r[base][level]["repeat_seconds"] / r[name][level]["repeat_seconds"]
                                      for r in rounds)
            table.append({"level": level, "variant": name, "wordpieces": pieces, "first_seconds": first,
                          "first_wordpieces_per_s": pieces / first, "seconds": later,
                          "wordpieces_per_s": pieces / later, "speedup": ratio, "cpu_seconds": cpu_seconds,
                          "wordpieces_per_cpu_s": pieces / cpu_seconds})
            print(f"| {level} | {name} | {pieces:,} | {first:.2f} | {pieces / first:,.0f} | {later:.2f} | "
                  f"{pieces / later:,.0f} | {ratio:.2f}x | {cpu_seconds:.2f} | {pieces / cpu_seconds:,.0f} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"cpu": cpu(), "notes": args.notes, "rounds": rounds, "table": table},
                                        indent=1))


if __name__ == "__main__":
    main()
