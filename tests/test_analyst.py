"""Analyst comforts: to_numpy, plots, progress, print_info, repr."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nlu_lite
from nlu_lite.errors import InvalidInputError

TEXTS = pd.DataFrame({"text": ["Patient denies chest pain.", None, "Takes aspirin daily. No fever.", "BP 120/80."],
                      "group": ["a", "b", "a", "b"]})


def test_to_numpy_aligns_rows_and_keeps_null_rows_as_nan(tiny_cased):
    df = tiny_cased.predict(TEXTS, output_level="document")
    matrix = nlu_lite.to_numpy(df)
    assert matrix.shape == (4, 32) and matrix.dtype == np.float32
    assert np.isnan(matrix[1]).all() and np.isfinite(matrix[[0, 2, 3]]).all()
    np.testing.assert_array_equal(matrix[2], df[tiny_cased.column_name].iloc[2])


def test_to_numpy_needs_one_embedding_column():
    with pytest.raises(InvalidInputError, match="exactly one column ending in '_embeddings'"):
        nlu_lite.to_numpy(pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_plot_embeddings_points_colours_and_labels(tiny_cased, tmp_path, method):
    pytest.importorskip("matplotlib", reason="pip install matplotlib (the [viz] extra)")
    if method == "tsne":
        pytest.importorskip("sklearn", reason="pip install scikit-learn")
    df = tiny_cased.predict(TEXTS, output_level="token")
    fig = nlu_lite.plot_embeddings(df, color="group", label="token", method=method)
    ax = fig.axes[0]
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_points == int(df[tiny_cased.column_name].notna().sum()) == 15
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert {t.get_text() for t in ax.texts} >= {"Patient", "aspirin", "120/80"}
    path = tmp_path / "map.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_similarity_heatmap_matches_cosines(tiny_cased):
    pytest.importorskip("matplotlib", reason="pip install matplotlib (the [viz] extra)")
    df = tiny_cased.predict(TEXTS, output_level="sentence")
    fig = nlu_lite.plot_similarity(df, label="sentence")
    image = fig.axes[0].images[0].get_array()
    vectors = nlu_lite.to_numpy(df)
    vectors = vectors[np.isfinite(vectors).all(1)]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(image), unit @ unit.T, atol=1e-5)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "Patient denies chest pain."


def test_plot_errors_name_the_problem(tiny_cased):
    pytest.importorskip("matplotlib", reason="pip install matplotlib (the [viz] extra)")
    df = tiny_cased.predict(TEXTS, output_level="document")
    with pytest.raises(InvalidInputError, match="'colour' is not in the DataFrame"):
        nlu_lite.plot_embeddings(df, color="colour")
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match="method='mds'"):
        nlu_lite.plot_embeddings(df, method="mds")


def test_progress_bar_counts_documents_and_can_be_turned_off(tiny_cased, capsys, monkeypatch):
    import nlu_lite.pipeline._resources as runtime

    tiny_cased.predict(["Chest pain."] * 5, output_level="document", chunk_size=2)
    assert "nlu_lite document" not in capsys.readouterr().err  # a short call: no bar (it waits BAR_DELAY_S)
    monkeypatch.setattr(runtime, "BAR_DELAY_S", 0.0)  # now every call is "long"
    tiny_cased.predict(["Chest pain."] * 5, output_level="document", chunk_size=2)
    err = capsys.readouterr().err
    assert "nlu_lite document" in err and "0/5 [" in err  # counts documents, total known up front
    tiny_cased.predict(["Chest pain."] * 5, output_level="document", chunk_size=2, progress=False)
    assert "nlu_lite" not in capsys.readouterr().err


def test_progress_bar_does_not_count_loading_spacy(tiny_cased_dir, capsys, monkeypatch):
    """A two-sentence call is short work even when its first run loads spaCy for seconds: no bar."""
    import time

    import nlu_lite.pipeline._resources as runtime
    from nlu_lite.text import _segmentation as segmentation

    real = segmentation.build_nlp
    monkeypatch.setattr(runtime, "BAR_DELAY_S", 0.5)
    monkeypatch.setattr(segmentation, "build_nlp", lambda name: time.sleep(2.5) or real(name))  # a slow first load
    fresh = nlu_lite.load(path=tiny_cased_dir)
    fresh.predict(["Chest pain. No fever."], output_level="sentence")
    assert "nlu_lite sentence" not in capsys.readouterr().err


def test_print_info_and_repr(tiny_cased, capsys):
    tiny_cased.print_info()
    out = capsys.readouterr().out
    for fragment in ("tiny_cased", "source           folder", "32 floats", "subword_pooling", "pipe.set("):
        assert fragment in out
    assert repr(tiny_cased).startswith("Pipeline('tiny_cased'") and "\n" not in repr(tiny_cased)


def test_every_setting_is_described_once_and_documented(tiny_cased, capsys):
    """Each setting's description lives on its field (print_info prints it) and docs/options.md names it."""
    from dataclasses import fields
    from pathlib import Path

    from nlu_lite.pipeline._settings import Settings

    tiny_cased.print_info()
    lines = capsys.readouterr().out.splitlines()
    options = (Path(__file__).resolve().parents[1] / "docs" / "options.md").read_text("utf-8")
    for f in fields(Settings):
        line = next(line for line in lines if line.split()[:1] == [f.name])
        assert f.metadata["help"].split(":")[0] in line or f.name in ("output_level", "prompt_name", "layers")
        assert f"`{f.name}`" in options, f"docs/options.md does not describe {f.name}"
    starts = {line.index(line.split()[1]) for line in lines if line.startswith("  ") and len(line.split()) > 2}
    assert len(starts) == 1  # the values line up, however long a setting's name
