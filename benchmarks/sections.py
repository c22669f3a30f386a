"""How many section headers the clinical splitter finds on the shared notes, and how many map to a canonical name.

    python benchmarks/sections.py [--notes 5000]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

from nlu_lite.text import _sections as sections
from nlu_lite.text._segmentation import build_nlp, segment

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def measure(texts: list[str]) -> dict:
    """Headers found, subsection headers, section headers mapped, and the most common unmapped ones."""
    seg = segment(texts, build_nlp("clinical"))
    found = subsections = mapped = 0
    unmapped: Counter = Counter()
    for d, b, e in zip(seg.sentence_doc.tolist(), seg.sentence_begin.tolist(), seg.sentence_end.tolist()):
        label = sections.find_header(texts[d][b:e])
        if label is None:
            continue
        found += 1
        key = sections.normalize_header(label)
        if key in sections.SUBSECTIONS:
            subsections += 1
        elif sections.section_name(label) in sections.SECTIONS:
            mapped += 1
        else:
            unmapped[key] += 1
    headers = found - subsections
    return {"notes": len(texts), "sentences": len(seg.sentence_doc), "headers": found, "subsections": subsections,
            "section_headers": headers, "mapped": mapped, "share_mapped": mapped / headers if headers else 0.0,
            "no_section": float((seg.sentence_section == None).mean()) if len(seg.sentence_doc) else 0.0,  # noqa: E711
            "top_unmapped": unmapped.most_common(15)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=5000, help="MTSamples notes to read (default: all)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    with (DATA / "mtsamples/mtsamples.csv").open(newline="", encoding="utf-8") as f:
        notes = [row["transcription"] for row in csv.DictReader(f) if row["transcription"].strip()][:args.notes]
    summary = (DATA / "medspacy/discharge_summary.txt").read_text("utf-8")
    corpora = {"mtsamples": notes, "medspacy discharge summary": [summary]}
    for name, texts in corpora.items():
        r = measure(texts)
        print(f"{name}: {r['notes']} notes, {r['sentences']} sentences, {r['headers']} headers "
              f"({r['subsections']} exam/ROS subsections), {r['mapped']}/{r['section_headers']} section headers "
              f"mapped ({r['share_mapped']:.1%}), {r['no_section']:.1%} of sentences before the first header")
        print("  most common unmapped:", ", ".join(f"{k} ({n})" for k, n in r["top_unmapped"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
