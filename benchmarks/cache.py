"""The vector cache on 10,000 MTSamples sentence units: cold, warm, and warm with 10% of the texts changed.

Inputs are the first ``--units`` sentences of the MTSamples notes (split by nlu_lite's clinical splitter), one
per row, embedded at sentence level with the packaged all-MiniLM-L6-v2. Runs, in one process, one model:

- ``uncached``: ``load(...)`` without a cache, the reference for time and for the vectors;
- ``cold``: ``load(..., cache=PATH)`` with an empty store (encodes and stores everything);
- ``warm``: the same inputs again (everything read from the store);
- ``warm_10pct_changed``: every tenth row's text changed (`` also`` inserted after its first word), the rest as
  before.

For each: seconds, units, and the store's size; and whether the vectors are bit-identical to the uncached run
(cold, warm) or, for the changed run, to the cold run on the unchanged rows and how far from an uncached
encoding the changed rows are (batch composition moves float32 results by ~1e-7 in any run).

``--store-only`` measures the store alone (the pipeline needs no ``cache=`` for it): ``put_many`` / ``get_many``
of ``--units`` vectors of 384 float32, in chunks of 256 (one predict chunk) and in one call, plus computing the
keys, and the file size.

    python benchmarks/cache.py                      # needs the pipeline's cache= option
    python benchmarks/cache.py --store-only --json store.json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's nlu_lite, also when run as python benchmarks/cache.py
DATA = ROOT / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"
MODEL = "en.embed_sentence.all_minilm_l6_v2"


def sentence_units(n: int) -> list[str]:
    """The first ``n`` sentences of the MTSamples notes, as nlu_lite's clinical splitter cuts them."""
    from nlu_lite.text import _segmentation as segmentation

    nlp = segmentation.build_nlp("clinical")
    units: list[str] = []
    with DATA.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["transcription"]
            if not text.strip():
                continue
            seg = segmentation.segment([text], nlp)
            units += [text[b:e] for b, e in zip(seg.sentence_begin.tolist(), seg.sentence_end.tolist())]
            if len(units) >= n:
                return units[:n]
    return units


def _store_size(path: Path) -> dict:
    from nlu_lite.cache import cache_info

    info = cache_info(path)
    return {"entries": info["entries"], "payload_mb": round(info["payload_bytes"] / 1e6, 2),
            "file_mb": round(info["file_bytes"] / 1e6, 2)}


def _matrix(frame, column: str) -> np.ndarray:
    return np.stack(frame[column].to_list())


def _by_row(frame, column: str) -> dict[int, np.ndarray]:
    """Each input row's vectors (a row may hold several sentence units), by input position."""
    return {k: np.stack(group.to_list()) for k, group in frame[column].groupby(level=0)}


def _changed(text: str) -> str:
    first, _, rest = text.partition(" ")
    return f"{first} also {rest}" if rest else f"{first} also"


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.uint32), b.view(np.uint32)))


def pipeline_runs(units: list[str], store: Path) -> dict:
    import nlu_lite

    plain = nlu_lite.load(MODEL, progress=False)
    try:
        cached = nlu_lite.load(MODEL, progress=False, cache=str(store))
    except (TypeError, ValueError) as e:  # the pipeline is not wired to the cache yet
        sys.exit(f"nlu_lite.load(..., cache=PATH) is not available in this checkout ({e}); "
                 "run with --store-only, or after the pipeline is wired to nlu_lite.cache.")
    column = plain.column_name
    changed = [_changed(t) if k % 10 == 0 else t for k, t in enumerate(units)]
    results: dict[str, dict] = {}

    def timed(name: str, pipe, texts: list[str]):
        start = time.perf_counter()
        frame = pipe.predict(texts, output_level="sentence")
        seconds = time.perf_counter() - start
        results[name] = {"seconds": round(seconds, 2), "units": len(frame), "stats": dict(pipe.last_stats)}
        return frame

    reference = _matrix(timed("uncached", plain, units), column)
    cached_cold_frame = timed("cold", cached, units)
    cold = _matrix(cached_cold_frame, column)
    results["cold"].update(_store_size(store), bit_identical_to_uncached=_same_bits(cold, reference))
    warm = _matrix(timed("warm", cached, units), column)
    results["warm"].update(_store_size(store), bit_identical_to_uncached=_same_bits(warm, reference),
                           bit_identical_to_cold=_same_bits(warm, cold),
                           speedup_vs_cold=round(results["cold"]["seconds"] / results["warm"]["seconds"], 1))
    changed_rows = _by_row(timed("warm_10pct_changed", cached, changed), column)
    fresh = _by_row(plain.predict(changed[::10], output_level="sentence"), column)  # the changed texts, uncached
    before = _by_row(cached_cold_frame, column)
    results["warm_10pct_changed"].update(
        _store_size(store), speedup_vs_cold=round(results["cold"]["seconds"]
                                                  / results["warm_10pct_changed"]["seconds"], 1),
        unchanged_rows_bit_identical_to_cold=all(_same_bits(changed_rows[k], before[k])
                                                 for k in changed_rows if k % 10),
        changed_rows_max_abs_diff_vs_uncached=max(float(np.abs(changed_rows[k] - fresh[k // 10]).max())
                                                  for k in range(0, len(units), 10)))
    return results


def store_only(n: int, store: Path, dim: int = 384, chunk: int = 256) -> dict:
    from nlu_lite.cache import VectorCache, key

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    units = sentence_units(n)
    fingerprint = json.dumps({"model": MODEL, "revision": "x", "settings": {"pooling": "mean"}})
    start = time.perf_counter()
    keys = [key(t, fingerprint) for t in units]
    key_s = time.perf_counter() - start
    distinct = dict(zip(keys, vectors))
    results: dict[str, object] = {"units": n, "distinct_texts": len(distinct), "dim": dim, "keys_s": round(key_s, 3)}
    for label, size in (("chunked_256", chunk), ("one_call", n)):
        path = store.with_name(f"{store.stem}_{label}.sqlite")
        with VectorCache(path) as cache:
            start = time.perf_counter()
            for i in range(0, n, size):
                cache.put_many({k: vectors[j] for j, k in enumerate(keys[i:i + size], start=i)})
            put_s = time.perf_counter() - start
            start = time.perf_counter()
            found = {}
            for i in range(0, n, size):
                found.update(cache.get_many(keys[i:i + size]))
            get_s = time.perf_counter() - start
            start = time.perf_counter()
            for i in range(0, n, size):  # second read: last-use refresh skipped (younger than a minute)
                cache.get_many(keys[i:i + size])
            get_again_s = time.perf_counter() - start
        assert all(np.array_equal(found[k], distinct[k]) for k in distinct)
        results[label] = {"put_s": round(put_s, 3), "get_s": round(get_s, 3), "get_again_s": round(get_again_s, 3),
                          **_store_size(path)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000, help="sentence units (default 10,000)")
    parser.add_argument("--store-only", action="store_true", help="time the SQLite store alone")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "vectors.sqlite"
        if args.store_only:
            results = store_only(args.units, store)
        else:
            results = pipeline_runs(sentence_units(args.units), store)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
