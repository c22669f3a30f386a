"""Draw the README's picture: MTSamples notes of four specialties on a 2-D map (packaged all-MiniLM-L6-v2).

    python docs/make_figures.py      # writes docs/embedding_map.png
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

import nlu_lite

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"
SPECIALTIES = ("Cardiovascular / Pulmonary", "Orthopedic", "Gastroenterology", "Neurology")


def main() -> None:
    rows = []
    with DATA.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            specialty = row["medical_specialty"].strip()
            if specialty in SPECIALTIES and row["transcription"].strip() and \
                    sum(r["specialty"] == specialty for r in rows) < 40:
                rows.append({"text": row["transcription"], "specialty": specialty, "sample": row["sample_name"]})
    notes = pd.DataFrame(rows)
    documents = nlu_lite.load().predict(notes, output_level="document", progress=False)
    fig = nlu_lite.plot_embeddings(documents, color="specialty", method="pca",
                                   title="160 MTSamples notes, all-MiniLM-L6-v2 document vectors (PCA)")
    fig.savefig(HERE / "embedding_map.png", dpi=90)


if __name__ == "__main__":
    main()
