"""Span level with a large term list: does matching 10,000 terms dominate the run?

Terms are the most frequent lowercase words and word pairs of the MTSamples notes (computed here, so nothing is
copied), padded with generated drug-like names to the requested count; the packaged all-MiniLM-L6-v2 embeds
every mention in context. The table splits the time into matching (spaCy PhraseMatcher over the notes) and the
whole predict() call.

    python benchmarks/spans.py [--notes 1000] [--terms 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import time
from pathlib import Path

import mtsamples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--terms", type=int, default=10000)
    parser.add_argument("--embed-notes", type=int, default=50, help="notes also embedded at span level")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    notes = mtsamples.column("transcription", args.notes)
    if notes is None:
        return 0
    import numpy as np

    import nlu_lite

    words = collections.Counter(w for note in notes for w in re.findall(r"[a-z]{4,}", note.lower()))
    pairs = collections.Counter(p for note in notes
                                for p in zip(*(lambda ws: (ws, ws[1:]))(re.findall(r"[a-z]{3,}", note.lower()))))
    vocabulary = [w for w, _ in words.most_common(args.terms // 2)] + [" ".join(p) for p, _ in
                                                                        pairs.most_common(args.terms // 2)]
    vocabulary += [f"drugname{k}ol" for k in range(args.terms - len(vocabulary))]
    spans = nlu_lite.terms(vocabulary)
    start = time.perf_counter()
    chunk = spans.for_chunk(None, np.arange(len(notes)), notes)
    matched = time.perf_counter()
    pipe = nlu_lite.load(progress=False)
    sample = notes[:args.embed_notes]
    t0 = time.perf_counter()
    df = pipe.predict(sample, spans=nlu_lite.terms(vocabulary))
    total = time.perf_counter() - t0
    t1 = time.perf_counter()
    nlu_lite.terms(vocabulary).for_chunk(None, np.arange(len(sample)), sample)
    sample_match = time.perf_counter() - t1
    result = {"terms": len(vocabulary), "notes_matched": len(notes), "mentions": len(chunk.doc),
              "match_s_all_notes": round(matched - start, 2), "matcher_build_and_match_notes_per_s":
              round(len(notes) / (matched - start), 1), "embedded_notes": len(sample), "span_rows": len(df),
              "predict_s": round(total, 2), "match_s_in_predict_sample": round(sample_match, 2),
              "match_share_of_predict": round(sample_match / total, 3)}
    width = max(map(len, result))
    print("| measure | value |\n|---|---:|")
    for key, value in result.items():
        print(f"| {key:{width}} | {value} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
