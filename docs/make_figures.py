"""Draw the README's picture: the 80 packaged sample notes (five specialties) on a 2-D map (all-MiniLM-L6-v2).

    python docs/make_figures.py      # writes docs/embedding_map.png; needs no data beside the checkout

The notes are ``nlu_lite.sample_notes()``: synthetic, written for this project, shipped inside the package.
"""

from __future__ import annotations

from pathlib import Path

import nlu_lite

HERE = Path(__file__).resolve().parent


def main() -> None:
    notes = nlu_lite.sample_notes()
    documents = nlu_lite.load().predict(notes, output_level="document", id_column="note_id", progress=False)
    fig = nlu_lite.plot_embeddings(documents, color="specialty", method="pca",
                                   title=f"{len(notes)} sample notes (synthetic), all-MiniLM-L6-v2 document "
                                         "vectors (PCA)")
    fig.savefig(HERE / "embedding_map.png", dpi=90)


if __name__ == "__main__":
    main()
