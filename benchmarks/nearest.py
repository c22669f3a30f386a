"""Memory and time of ``nlu_lite.nearest``: 1,000 queries against up to 1,000,000 corpus rows of 384 dims.

Random float32 vectors (standard normal, not normalised). Each configuration runs in a fresh subprocess: the
corpus and queries are generated first, then the process's peak RSS is read before and after the search, so
"working MB" is the memory the search needed above the corpus itself (numpy, BLAS buffers, the result). The
``numpy peak MB`` column is tracemalloc's peak of numpy allocations during the search. Ten queries are checked
against a brute-force top-k (one full score row each). ``full`` rows are the naive ``Q @ C.T`` plus
``argpartition``, for comparison.

    python benchmarks/nearest.py [--corpus 100000,1000000] [--queries 1000] [--dim 384] [--k 5] [--naive 100000]
                                 [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _check(queries, corpus, hits, k: int, n_check: int = 10) -> bool:
    """Top-k of the first ``n_check`` queries by one full float64 score row each, ties by position."""
    import numpy as np

    norms = np.linalg.norm(corpus, axis=1).astype(np.float64)
    for q in range(n_check):
        row = corpus @ queries[q] / norms / np.linalg.norm(queries[q])
        want = np.lexsort((np.arange(len(row)), -row.astype(np.float64)))[:k]
        if list(hits[hits["query_row"] == q]["corpus_row"]) != want.tolist():
            return False
    return True


def run_one(method: str, n_corpus: int, n_queries: int, dim: int, k: int) -> dict:
    import numpy as np

    import nlu_lite

    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((n_corpus, dim), dtype=np.float32)
    queries = rng.standard_normal((n_queries, dim), dtype=np.float32)
    before = peak_mb()
    tracemalloc.start()
    start = time.perf_counter()
    if method == "nearest":
        hits = nlu_lite.nearest(queries, corpus, k=k)
    else:  # the naive way: the whole score matrix, then a partial sort
        scores = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ corpus.T
        scores /= np.linalg.norm(corpus, axis=1)
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        hits = {"rows": top}
    seconds = time.perf_counter() - start
    numpy_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    after = peak_mb()
    checked = _check(queries, corpus, hits, k) if method == "nearest" else None
    return {"method": method, "queries": n_queries, "corpus": n_corpus, "dim": dim, "k": k,
            "corpus_mb": corpus.nbytes / 2**20, "seconds": seconds, "rss_before_mb": before, "peak_rss_mb": after,
            "working_mb": after - before, "numpy_peak_mb": numpy_peak, "matches_brute_force": checked}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--naive", default="100000", help="corpus sizes for the full-matrix comparison ('' for none)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        method, n = args.one.split(":")
        print(json.dumps(run_one(method, int(n), args.queries, args.dim, args.k)))
        return 0
    plan = [("nearest", int(n)) for n in args.corpus.split(",") if n]
    plan += [("full", int(n)) for n in args.naive.split(",") if n]
    results = []
    for method, n in plan:
        out = subprocess.run([sys.executable, __file__, "--one", f"{method}:{n}", "--queries", str(args.queries),
                              "--dim", str(args.dim), "--k", str(args.k)], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.queries:,} queries, k={args.k}, {args.dim} dims, random float32, one process per row")
    print("| method | corpus rows | corpus MB | seconds | working MB above corpus | numpy peak MB | top-k checked |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        checked = {True: "yes (10 queries)", False: "MISMATCH", None: ""}[r["matches_brute_force"]]
        print(f"| {r['method']} | {r['corpus']:,} | {r['corpus_mb']:,.0f} | {r['seconds']:.1f} | "
              f"{r['working_mb']:,.0f} | {r['numpy_peak_mb']:,.0f} | {checked} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
