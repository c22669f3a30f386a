"""``nlu_lite.compare`` on MTSamples: which configuration of the packaged all-MiniLM-L6-v2 serves clinical notes.

Two tasks on the same notes, from five specialties with many notes (Cardiovascular / Pulmonary, Orthopedic,
Gastroenterology, Neurology, Urology; ``--per-class`` notes of each, the first ones in file order):
- classification: the note's specialty from its vector (5-fold stratified cross-validation, seed 0: k-NN
  accuracy and macro-F1, logistic regression accuracy and macro-F1, cosine silhouette);
- retrieval: each note's one-line ``description`` as the query, its own transcription the one relevant text
  among all the notes (recall@1/@5/@10, MRR).

Configurations (the only model offline here, in several forms): fp32, int8 and bf16 precision; Matryoshka-style
``truncate_dim`` 128 and 64 (MiniLM was not trained for it: this shows what truncating costs a model that was
not); CLS instead of mean pooling; sentence level (each note the mean of its sentence vectors) instead of
document level (the whole note, windowed). ``--repeats`` runs every configuration again in the reverse order:
scores must repeat exactly; seconds and wordpieces/s are the median over repeats, and ``speed`` is the median
ratio to fp32 of the same repeat. Skips with a reason where ../shared is absent.

    python benchmarks/compare.py [--per-class 12] [--repeats 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from machine import cpu

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"
SPECIALTIES = ["Cardiovascular / Pulmonary", "Orthopedic", "Gastroenterology", "Neurology", "Urology"]
MODEL = "en.embed_sentence.all_minilm_l6_v2"
CONFIGS = {  # row name -> (level, load options)
    "fp32": ("document", {}),
    "int8": ("document", {"precision": "int8"}),
    "bf16": ("document", {"precision": "bf16"}),
    "truncate_dim=128": ("document", {"truncate_dim": 128}),
    "truncate_dim=64": ("document", {"truncate_dim": 64}),
    "pooling=cls": ("document", {"pooling": "cls"}),
    "sentence level": ("sentence", {}),
}
TIMING = ["seconds", "wordpieces_per_s", "peak_rss_mb", "load_s"]




def run(notes, task: str, order: list[str]):
    import pandas as pd

    import nlu_lite

    tables = []
    for level in dict.fromkeys(CONFIGS[name][0] for name in order):
        models = {name: {"model": MODEL, **CONFIGS[name][1]} for name in order if CONFIGS[name][0] == level}
        if task == "classification":
            table = nlu_lite.compare(models, notes["transcription"].tolist(), labels=notes["specialty"].tolist(),
                                     level=level)
        else:
            table = nlu_lite.compare(models, notes["transcription"].tolist(),
                                     queries=notes["description"].tolist(), level=level)
        tables.append(table)
    table = pd.concat(tables)
    table.attrs = tables[0].attrs
    return table.loc[order]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=12, help="notes of each specialty (default 12)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"skipped: MTSamples not found at {DATA} (only beside the development checkout)")
        return 0
    import pandas as pd

    notes = pd.read_csv(DATA)
    notes["specialty"] = notes["medical_specialty"].str.strip()
    notes = notes[notes["specialty"].isin(SPECIALTIES) & notes["transcription"].fillna("").str.strip().astype(bool)
                  & notes["description"].fillna("").str.strip().astype(bool)]
    notes = notes.groupby("specialty", sort=False).head(args.per_class).reset_index(drop=True)
    load = os.getloadavg()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{len(notes)} notes ({args.per_class} per specialty), {notes['transcription'].str.len().sum():,} "
          f"characters; {cpu()}; load average {load[0]:.1f} at start; {when}")
    results = {}
    for task in ("classification", "retrieval"):
        runs = []
        for repeat in range(args.repeats):
            order = list(CONFIGS) if repeat % 2 == 0 else list(CONFIGS)[::-1]  # interleaved: each order in turn
            runs.append(run(notes, task, order).loc[list(CONFIGS)])
            print(f"  {task} repeat {repeat + 1}/{args.repeats} done, load average {os.getloadavg()[0]:.1f}",
                  file=sys.stderr)
        scores = [c for c in runs[0].columns if c not in TIMING]
        for other in runs[1:]:
            pd.testing.assert_frame_equal(other[scores], runs[0][scores])  # the scores repeat exactly
        table = runs[0][scores].copy()
        for column in TIMING:
            table[column] = pd.concat([r[column] for r in runs], axis=1).median(axis=1)
        table["speed"] = pd.concat([r["wordpieces_per_s"] / r.loc["fp32", "wordpieces_per_s"] for r in runs],
                                   axis=1).median(axis=1)
        print(f"\n{task}:")
        print(table.drop(columns=["level"]).to_string(float_format=lambda v: f"{v:.3f}"))
        results[task] = table.reset_index().to_dict(orient="records")
    results["setup"] = {"notes": len(notes), "per_class": args.per_class, "specialties": SPECIALTIES,
                        "repeats": args.repeats, "cpu": cpu(), "load_average_start": load,
                        "load_average_end": os.getloadavg(), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
