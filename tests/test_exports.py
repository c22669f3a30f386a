"""embed(), aggregate() and to_wide(): checked against numpy/pandas computations by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError

NOTES = pd.DataFrame({"note_id": [7, 8, 9, 10],
                      "note": ["Patient denies chest pain. Takes aspirin daily.", None,
                               "Fever and cough. No history of bp. Heart rate 72.", "Dr Smith saw the patient."],
                      "ward": ["A", "B", "A", None]})


@pytest.fixture(scope="module")
def sentences(tiny_cased):
    return tiny_cased.predict(NOTES, output_level="sentence", text_column="note", id_column="note_id")


@pytest.mark.parametrize("texts", [["Chest pain.", None, "No fever today.", ""], pd.Series(["Chest pain."])])
def test_exports_embed_is_the_document_level_matrix(tiny_cased, texts):
    matrix = nlu_lite.embed(tiny_cased, texts)
    frame = tiny_cased.predict(texts, output_level="document")
    assert matrix.dtype == np.float32 and matrix.shape == (len(texts), tiny_cased.encoder.dim)
    for row, vector in zip(matrix, frame[tiny_cased.column_name]):
        if vector is None:
            assert np.isnan(row).all()
        else:
            np.testing.assert_array_equal(row, vector)


def test_exports_embed_single_text_and_all_empty(tiny_cased):
    assert nlu_lite.embed(tiny_cased, "Chest pain.").shape == (1, tiny_cased.encoder.dim)
    empty = nlu_lite.embed(tiny_cased, [None, "  "])
    assert empty.shape == (2, tiny_cased.encoder.dim) and np.isnan(empty).all()
    normalised = nlu_lite.embed(tiny_cased, ["Chest pain.", "Fever"], normalize=True)
    assert np.allclose(np.linalg.norm(normalised, axis=1), 1.0, atol=1e-6)


def _by_hand(frame: pd.DataFrame, keys: pd.Series, column: str) -> dict:
    """Group key -> (mean of the non-null vectors or None, n_vectors, n_null), by a plain loop."""
    out: dict = {}
    for key, vector in zip(keys, frame[column]):
        key = "<null>" if pd.isna(key) else key
        out.setdefault(key, []).append(vector)
    result = {}
    for key, vectors in out.items():
        present = [v for v in vectors if v is not None and np.isfinite(v).all()]
        mean = np.mean(np.stack(present).astype(np.float64), axis=0) if present else None
        result[key] = (mean, len(present), len(vectors) - len(present))
    return result


@pytest.mark.parametrize("by", ["note_id", "ward"])
def test_exports_aggregate_means_by_group_skipping_null_rows(tiny_cased, sentences, by):
    col = tiny_cased.column_name
    means = nlu_lite.aggregate(sentences, by=by)
    keys = sentences.index.to_series() if by == "note_id" else sentences[by]
    want = _by_hand(sentences, keys, col)
    assert means.index.name == by and list(means.columns) == [col, "n_vectors", "n_null"]
    assert len(means) == len(want)
    for key, row in means.iterrows():
        mean, n_vectors, n_null = want["<null>" if pd.isna(key) else key]
        assert (row["n_vectors"], row["n_null"]) == (n_vectors, n_null)
        if mean is None:
            assert row[col] is None
        else:
            assert row[col].dtype == np.float32
            np.testing.assert_allclose(row[col], mean, atol=1e-6)
    assert means["n_vectors"].sum() + means["n_null"].sum() == len(sentences)  # every row accounted for


def test_exports_aggregate_joins_back_in_one_merge(tiny_cased, sentences):
    per_note = nlu_lite.aggregate(sentences, by="note_id")  # the index: predict(..., id_column="note_id")
    assert list(per_note.index) == [7, 8, 9, 10]
    assert per_note.loc[8, tiny_cased.column_name] is None and per_note.loc[8, "n_null"] == 1
    joined = NOTES.merge(per_note, on="note_id")
    assert list(joined["note_id"]) == [7, 8, 9, 10]
    per_ward = nlu_lite.aggregate(sentences, by=["ward"])
    back = NOTES.merge(per_ward, on="ward")  # the group key keeps its name: one merge
    assert sorted(back["note_id"]) == [7, 8, 9, 10]  # a null ward joins its null-key group
    assert dict(zip(back["note_id"], back["n_vectors"])) == {7: 5, 8: 0, 9: 5, 10: 1}
    two_keys = nlu_lite.aggregate(sentences, by=["note_id", "ward"])
    assert two_keys.index.names == ["note_id", "ward"] and len(two_keys) == 4


def test_exports_aggregate_skips_nan_vectors_of_tokens(tiny_cased):
    with pytest.warns(nlu_lite.NoWordpieceWarning):
        tokens = tiny_cased.predict(["chest \u200b pain", "fever"], output_level="token")
    means = nlu_lite.aggregate(tokens, by="origin_index")
    assert list(means["n_null"]) == [1, 0] and list(means["n_vectors"]) == [2, 1]
    vectors = nlu_lite.to_numpy(tokens)
    np.testing.assert_allclose(means.iloc[0][tiny_cased.column_name], np.nanmean(vectors[:3], axis=0), atol=1e-6)


def test_exports_to_wide_one_float_column_per_dimension(tiny_cased, sentences):
    col = tiny_cased.column_name
    dim = tiny_cased.encoder.dim
    wide = nlu_lite.to_wide(sentences)
    names = [f"dim_{i}" for i in range(dim)]
    assert list(wide.columns) == [c for c in sentences.columns if c != col] + names
    assert wide.index.equals(sentences.index) and wide.index.name == "note_id"  # repeated labels kept
    assert all(wide[n].dtype == np.float32 for n in names)
    np.testing.assert_array_equal(wide[names].to_numpy(), nlu_lite.to_numpy(sentences))
    assert wide.loc[8, names].isna().all()  # the empty note: a NaN row, not dropped
    only = nlu_lite.to_wide(sentences, vectors_only=True, prefix="v")
    assert list(only.columns) == [f"v{i}" for i in range(dim)] and len(only) == len(sentences)
    joined = NOTES.merge(wide, on="note_id")
    assert len(joined) == len(sentences)


@pytest.mark.parametrize(("call", "error", "code"), [
    (lambda pipe, df: nlu_lite.embed(pipe, ["a"], output_level="token"), InvalidOptionError, "E200"),
    (lambda pipe, df: nlu_lite.aggregate(df, by="specialty"), InvalidInputError, "E201"),
    (lambda pipe, df: nlu_lite.aggregate(df, by=[]), InvalidInputError, "E201"),
    (lambda pipe, df: nlu_lite.to_wide(df.assign(dim_0=1.0)), InvalidInputError, "E202"),
])
def test_exports_bad_arguments_raise_with_code(tiny_cased, sentences, call, error, code):
    with pytest.raises(error, match=rf"\[{code}\]"):
        call(tiny_cased, sentences)


@pytest.mark.parametrize("rows_per_block", [1, 4, 65536])
def test_exports_group_sums_across_blocks_equal_a_loop(rows_per_block):
    from nlu_lite.tools._vectors import _group_sums

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 3)).astype(np.float32)
    codes = rng.integers(-1, 6, size=50)  # -1: left out
    want = np.zeros((7, 3))
    for code, vector in zip(codes, vectors):
        if code >= 0:
            want[code] += vector
    np.testing.assert_allclose(_group_sums(vectors, codes, 7, rows_per_block), want, atol=1e-12)
