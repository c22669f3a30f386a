"""Four MTSamples specialties from document vectors: LogisticRegression, 5-fold cross-validation accuracy.

Notes of Cardiovascular / Pulmonary, Orthopedic, Gastroenterology and Neurology (rows with a transcription),
embedded once with the packaged all-MiniLM-L6-v2 through ``nlu_lite.EmbeddingTransformer`` (document level:
the whole note, windowed, never truncated). The transformer learns nothing from the data, so cross-validating
the classifier on the precomputed vectors gives the scores ``cross_val_score(make_pipeline(EmbeddingTransformer(),
LogisticRegression()), texts, y)`` gives, with one embedding pass instead of five. A TF-IDF + LogisticRegression
baseline on the same folds is printed for context.

    python benchmarks/specialties.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"
SPECIALTIES = ["Cardiovascular / Pulmonary", "Orthopedic", "Gastroenterology", "Neurology"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    import nlu_lite

    notes = pd.read_csv(DATA)
    notes["specialty"] = notes["medical_specialty"].str.strip()
    notes = notes[notes["specialty"].isin(SPECIALTIES) & notes["transcription"].notna()]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    start = time.perf_counter()
    X = nlu_lite.EmbeddingTransformer().fit_transform(notes["transcription"])
    embed_s = time.perf_counter() - start
    rows = []
    for name, model, inputs in (
            ("MiniLM document vectors + LogisticRegression", LogisticRegression(max_iter=1000), X),
            ("TF-IDF + LogisticRegression (baseline)", make_pipeline(TfidfVectorizer(sublinear_tf=True),
                                                                     LogisticRegression(max_iter=1000)),
             notes["transcription"])):
        scores = cross_val_score(model, inputs, notes["specialty"], cv=folds)
        rows.append({"model": name, "accuracy_mean": float(scores.mean()), "accuracy_std": float(scores.std()),
                     "folds": [round(float(s), 4) for s in scores]})
    counts = notes["specialty"].value_counts().to_dict()
    print(f"{len(notes)} notes ({', '.join(f'{k}: {v}' for k, v in counts.items())}); "
          f"embedding {X.shape} in {embed_s:.0f} s; majority class {max(counts.values()) / len(notes):.3f}")
    print("| model | 5-fold accuracy | folds |\n|---|---:|---|")
    for row in rows:
        print(f"| {row['model']} | {row['accuracy_mean']:.3f} ± {row['accuracy_std']:.3f} | {row['folds']} |")
    if args.json:
        args.json.write_text(json.dumps({"notes": len(notes), "counts": counts, "embed_s": embed_s, "rows": rows},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
