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
    start = time.perf_counter()
    hits = nlu_lite.nearest(queries, corpus, k=10)
    seconds = time.perf_counter() - start
    np.save(args.truth, hits["corpus_row"].to_numpy().reshape(len(queries), 10))
    return {"kind": "numpy nearest", "corpus": len(corpus), "build_s": 0.0, "search_s": seconds, "recall": 1.0,
            "ram_mb_per_million": corpus.nbytes / len(corpus) * 1e6 / 2**20, "disk_mb_per_million": 0.0}


def run_kind(args) -> dict:
    import faiss  # noqa: F401  (imported before the clock starts: about 1 s)
    import numpy as np

    import nlu_lite

    corpus, queries = vectors(args)
    truth = np.load(args.truth)
    before = peak_mb()
    start = time.perf_counter()
    idx = nlu_lite.index(corpus, **KINDS[args.one])
    build = time.perf_counter() - start
    start = time.perf_counter()
    hits = nlu_lite.nearest(queries, idx, k=10)
    search = time.perf_counter() - start
    peak = peak_mb() - before
    got = hits["corpus_row"].to_numpy().reshape(len(queries), 10)
    recall = float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]))
    with tempfile.TemporaryDirectory(dir=args.tmp) as folder:
        idx.save(Path(folder) / "i")
        sizes = {p.name: p.stat().st_size for p in (Path(folder) / "i").iterdir()}
        del idx
        loaded = nlu_lite.VectorIndex.load(Path(folder) / "i")
        start = time.perf_counter()
        again = nlu_lite.nearest(queries, loaded, k=10)
        loaded_s = time.perf_counter() - start
    same = bool((again["corpus_row"].to_numpy() == hits["corpus_row"].to_numpy()).all())
    on_disk = sizes.get("floats.npy", 0)
    ram = sum(sizes.values()) - on_disk - sizes.get("rows.parquet", 0)
    per_million = 1e6 / len(corpus) / 2**20
    return {"kind": args.one, "corpus": len(corpus), "build_s": build, "search_s": search,
            "search_after_load_s": loaded_s, "recall": recall, "peak_rss_above_corpus_mb": peak,
            "ram_mb_per_million": ram * per_million, "disk_mb_per_million": on_disk * per_million,
            "loaded_equals_built": same}


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
    args = parser.parse_args(argv)
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
    print("| kind | corpus rows | build s | search s | recall@10 | MB per million in RAM | "
          "MB per million on disk (rescoring) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['kind']} | {r['corpus']:,} | {r['build_s']:.1f} | {r['search_s']:.1f} | {r['recall']:.3f} | "
              f"{r['ram_mb_per_million']:,.0f} | {r['disk_mb_per_million']:,.0f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
