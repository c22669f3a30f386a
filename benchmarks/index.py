"""``nlu_lite.index`` against the exact numpy ``nearest``: build and search time, memory, recall@10.

1,000 queries, k=10, against a corpus of random vectors (standard normal, 384 dims) or of real ones (a ``.npy``
of model vectors, e.g. MiniLM sentence vectors of MTSamples; the last ``--queries`` rows are the queries and are
not in the corpus). The exact answer is ``nlu_lite.nearest`` (numpy), computed once per corpus and timed; each
index kind then runs in a fresh subprocess: build, search, recall@10 against the exact answer, peak RSS above the
corpus itself, and the bytes that must stay in memory per million vectors once saved and loaded again (the FAISS
index or codes; a quantized index's float vectors, used only to rescore candidates, are memory-mapped from disk
and listed apart).

    python benchmarks/index.py [--corpus 1000000] [--real FILE.npy] [--kinds exact,binary,int8,hnsw,binary-hnsw]
                               [--queries 1000] [--dim 384] [--json FILE]
    python benchmarks/index.py --interleave --kinds exact,binary,int8 [--rounds 3]   # search-time ratios
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"exact": {}, "hnsw": {"method": "hnsw"}, "binary": {"quantize": "ubinary"},
         "binary-hnsw": {"quantize": "ubinary", "method": "hnsw"}, "int8": {"quantize": "int8"}}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds (user + system, all threads) of a block: on a shared machine the CPU time is the
    steadier figure."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu

    @staticmethod
    def _cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


def vectors(args):
    import numpy as np

    if args.real:
        rows = np.load(args.real, mmap_mode="r")
        rows = rows[-(args.corpus + args.queries):] if args.corpus else rows
        return np.ascontiguousarray(rows[:-args.queries]), np.ascontiguousarray(rows[-args.queries:])
    rng = np.random.default_rng(0)
    return (rng.standard_normal((args.corpus, args.dim), dtype=np.float32),
            rng.standard_normal((args.queries, args.dim), dtype=np.float32))


def run_exact(args) -> dict:
    import numpy as np

    import nlu_lite

    corpus, queries = vectors(args)
    with Clock() as search:
        hits = nlu_lite.nearest(queries, corpus, k=10)
    np.save(args.truth, hits["corpus_row"].to_numpy().reshape(len(queries), 10))
    np.save(args.truth.with_suffix(".scores.npy"), hits["score"].to_numpy().reshape(len(queries), 10))
    return {"kind": "numpy nearest", "corpus": len(corpus), "build_s": 0.0, "build_cpu_s": 0.0,
            "search_s": search.wall, "search_cpu_s": search.cpu, "recall": 1.0, "recall_ties": 1.0,
            "ram_mb_per_million": corpus.nbytes / len(corpus) * 1e6 / 2**20, "disk_mb_per_million": 0.0,
            "load_average": os.getloadavg()[0]}


def run_kind(args) -> dict:
    import faiss  # noqa: F401  (imported before the clock starts: about 1 s)
    import numpy as np

    import nlu_lite
    from nlu_lite.tools import _index  # noqa: F401  (the first call's imports are not the build)

    corpus, queries = vectors(args)
    truth = np.load(args.truth)
    before = peak_mb()
    with Clock() as build:
        idx = nlu_lite.index(corpus, **KINDS[args.one])
    with Clock() as search:
        hits = nlu_lite.nearest(queries, idx, k=10)
    peak = peak_mb() - before
    got = hits["corpus_row"].to_numpy().reshape(len(queries), 10)
    recall = float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]))
    # tie-aware: a hit counts when its true cosine reaches the exact 10th score (duplicate sentences tie, and
    # which of several equal rows a float32 product ranks first can differ by one rounding between libraries)
    tenth = np.load(args.truth.with_suffix(".scores.npy"))[:, -1:]
    unit = corpus[got.ravel()] / np.linalg.norm(corpus[got.ravel()], axis=1, keepdims=True)
    q_unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    true = np.einsum("ij,ij->i", unit, np.repeat(q_unit, 10, axis=0)).reshape(len(queries), 10)
    recall_ties = float(np.mean(true >= tenth - 1e-5))
    with tempfile.TemporaryDirectory(dir=args.tmp) as folder:
        idx.save(Path(folder) / "i")
        sizes = {p.name: p.stat().st_size for p in (Path(folder) / "i").iterdir()}
        del idx
        loaded = nlu_lite.VectorIndex.load(Path(folder) / "i")
        with Clock() as again_clock:  # floats memory-mapped: the candidates' rows come from the page cache
            again = nlu_lite.nearest(queries, loaded, k=10)
    same = bool((again["corpus_row"].to_numpy() == hits["corpus_row"].to_numpy()).all())
    on_disk = sizes.get("floats.npy", 0)
    ram = sum(sizes.values()) - on_disk - sizes.get("rows.parquet", 0)
    per_million = 1e6 / len(corpus) / 2**20
    return {"kind": args.one, "corpus": len(corpus), "build_s": build.wall, "build_cpu_s": build.cpu,
            "search_s": search.wall, "search_cpu_s": search.cpu, "search_after_load_s": again_clock.wall,
            "search_after_load_cpu_s": again_clock.cpu, "recall": recall, "recall_ties": recall_ties,
            "peak_rss_above_corpus_mb": peak,
            "load_average": os.getloadavg()[0],
            "ram_mb_per_million": ram * per_million, "disk_mb_per_million": on_disk * per_million,
            "loaded_equals_built": same}


def run_interleaved(args) -> None:
    """Search times of every kind in one process, in interleaved rounds: the ratios to the numpy scan are the
    figure to compare on a shared machine."""
    import faiss  # noqa: F401
    import numpy as np

    import nlu_lite
    from nlu_lite.tools import _index  # noqa: F401

    corpus, queries = vectors(args)
    kinds = [k for k in args.kinds.split(",") if k]
    indexes = {kind: nlu_lite.index(corpus, **KINDS[kind]) for kind in kinds}
    times: dict[str, list[tuple[float, float]]] = {kind: [] for kind in ["numpy", *kinds]}
    for _ in range(args.rounds):
        for kind in times:
            with Clock() as clock:
                nlu_lite.nearest(queries, corpus if kind == "numpy" else indexes[kind], k=10)
            times[kind].append((clock.wall, clock.cpu))
    base = np.median([c for _, c in times["numpy"]])
    print(f"{args.queries:,} queries, k=10, {len(corpus):,} rows, {args.rounds} interleaved rounds, median; "
          f"load average {os.getloadavg()[0]:.0f}")
    print("| kind | search s | search CPU s | CPU time / numpy scan |")
    print("|---|---:|---:|---:|")
    for kind, runs in times.items():
        wall, cpu = np.median([w for w, _ in runs]), np.median([c for _, c in runs])
        print(f"| {kind} | {wall:.1f} | {cpu:.1f} | {cpu / base:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=int, default=1_000_000, help="rows (real: the last rows; 0 = all)")
    parser.add_argument("--real", type=Path, help="a .npy of model vectors instead of random ones")
    parser.add_argument("--kinds", default="exact,binary,int8,hnsw,binary-hnsw")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", default=None, help="folder for the saved indexes (default: the system's)")
    parser.add_argument("--interleave", action="store_true", help="search times only, all kinds in one process")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.interleave:
        run_interleaved(args)
        return 0
    if args.one:
        print(json.dumps(run_exact(args) if args.one == "numpy" else run_kind(args)))
        return 0
    results = []
    with tempfile.TemporaryDirectory() as work:
        common = ["--corpus", str(args.corpus), "--queries", str(args.queries), "--dim", str(args.dim),
                  "--truth", str(Path(work) / "truth.npy")] + (["--real", str(args.real)] if args.real else [])
        common += ["--tmp", args.tmp] if args.tmp else []
        for kind in ["numpy"] + [k for k in args.kinds.split(",") if k]:
            out = subprocess.run([sys.executable, __file__, "--one", kind, *common], capture_output=True, text=True,
                                 check=True, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    source = f"real vectors from {args.real.name}" if args.real else f"random float32, {args.dim} dims"
    print(f"{args.queries:,} queries, k=10, {source}, one process per row")
    print("| kind | corpus rows | build s (CPU s) | search s (CPU s) | recall@10 (ties counted) | "
          "MB per million in RAM | MB per million on disk (rescoring) | load average |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['kind']} | {r['corpus']:,} | {r['build_s']:.1f} ({r['build_cpu_s']:.1f}) | {r['search_s']:.1f} "
              f"({r['search_cpu_s']:.1f}) | {r['recall']:.3f} ({r['recall_ties']:.3f}) | "
              f"{r['ram_mb_per_million']:,.0f} | {r['disk_mb_per_million']:,.0f} | {r['load_average']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
