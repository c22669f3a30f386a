"""index(): FAISS exact search equals nearest() row for row; HNSW and quantized recall; save/load; model identity."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from test_cosine import NOTES, brute_force, random_unnormalised

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError, OutputError

pytest.importorskip("faiss", reason="pip install faiss-cpu (the [index] extra)")

KINDS = [{}, {"method": "hnsw"}, {"quantize": "binary"}, {"quantize": "ubinary", "method": "hnsw"},
         {"quantize": "int8"}, {"quantize": "uint8"}]


def clustered(rng, n: int, dim: int, n_clusters: int = 1000) -> np.ndarray:
    """Rows around cluster centres that share a common direction, like sentence embeddings (not normalised):
    a row's top-10 cosines are about 0.5, as MiniLM sentence vectors' are."""
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32) + 0.5
    rows = centres[rng.integers(0, n_clusters, n)] + 1.1 * rng.standard_normal((n, dim)).astype(np.float32)
    return rows * rng.uniform(0.5, 3.0, (n, 1)).astype(np.float32)


def recall(got: pd.DataFrame, want: pd.DataFrame) -> float:
    hits = got.groupby("query_row")["corpus_row"].apply(set)
    truth = want.groupby("query_row")["corpus_row"].apply(set)
    return float(np.mean([len(hits[q] & truth[q]) / len(truth[q]) for q in truth.index]))


@pytest.fixture(scope="module")
def data():
    rows = clustered(np.random.default_rng(0), 10_200, 384)
    corpus, queries = rows[:10_000], rows[10_000:]
    return corpus, queries, nlu_lite.nearest(queries, corpus, k=10)


def test_index_exact_equals_nearest_row_for_row_with_null_rows_and_ties():
    rng = np.random.default_rng(3)
    corpus = random_unnormalised(rng, 30_000, 64, null_rows=[0, 5, 29_999])
    copies = [10, 400, 7_000, 12_345] + list(range(20_000, 20_040))  # 44 equal directions at unequal norms
    corpus[copies] = corpus[100] * rng.choice([0.5, 2.0, 4.0], (len(copies), 1)).astype(np.float32)  # exact ties
    queries = random_unnormalised(rng, 60, 64, null_rows=[7])
    queries[1] = corpus[100]  # its 45 equal scores straddle k: the earlier rows must win, as in nearest
    with pytest.warns(nlu_lite.NullVectorWarning):
        idx = nlu_lite.index(corpus)
    for k in (1, 10, 50):
        with pytest.warns(nlu_lite.NullVectorWarning):
            want = nlu_lite.nearest(queries, corpus, k=k)
        with pytest.warns(nlu_lite.NullVectorWarning, match="1 of 60 query rows"):
            got = nlu_lite.nearest(queries, idx, k=k)
        assert list(got.columns) == list(want.columns) and got.attrs["skipped"] == want.attrs["skipped"]
        pd.testing.assert_frame_equal(got.drop(columns="score"), want.drop(columns="score"))
        np.testing.assert_allclose(got["score"], want["score"], atol=2e-6)
    tied = got[got["query_row"] == 1]["corpus_row"].tolist()
    assert tied[:45] == sorted([100] + copies) and np.allclose(got[got["query_row"] == 1]["score"][:45], 1.0)
    positions, scores = brute_force(queries, corpus, 50)
    assert [list(g["corpus_row"]) for _, g in got.groupby("query_row")] == positions


def test_index_on_frames_returns_nearest_frame_with_ids_and_texts(tiny_cased):
    corpus = tiny_cased.predict(pd.DataFrame({"note": NOTES, "ward": list("ABCDE")}, index=[10, 11, 12, 13, 14]),
                                output_level="sentence", text_column="note")
    with pytest.warns(nlu_lite.NullVectorWarning):
        idx = nlu_lite.index(corpus)
        want = nlu_lite.nearest(["chest pain", "fever"], corpus, k=3, pipe=tiny_cased)
    got = nlu_lite.nearest(["chest pain", "fever"], idx, k=3, pipe=tiny_cased)
    pd.testing.assert_frame_equal(got.drop(columns="score"), want.drop(columns="score"))
    np.testing.assert_allclose(got["score"], want["score"], atol=2e-6)
    assert idx.identity["model"] == nlu_lite.provenance(corpus)["model"] and len(idx) == len(corpus)
    with pytest.warns(nlu_lite.NullVectorWarning, match="2 of 2 query rows"):
        none = nlu_lite.nearest(["", None], idx, pipe=tiny_cased)  # no usable query: no rows, same columns
    assert none.empty and list(none.columns) == list(got.columns)


HNSW = {"method": "hnsw", "hnsw_m": 16, "ef_construction": 40}


# recall@10 measured on this data: hnsw 0.97, binary 0.92 (0.81 with rescore_multiplier=1), binary hnsw 0.90,
# int8 1.00
@pytest.mark.parametrize(("kind", "least"), [(HNSW, 0.93), ({"quantize": "binary"}, 0.88),
                                              ({"quantize": "ubinary", **HNSW}, 0.85),
                                              ({"quantize": "int8"}, 0.97), ({"quantize": "uint8"}, 0.97),
                                              ({"quantize": "binary", "rescore_multiplier": 1}, 0.75)])
def test_index_approximate_and_quantized_recall_at_10_and_true_cosines(data, kind, least):
    corpus, queries, exact = data
    got = nlu_lite.nearest(queries, nlu_lite.index(corpus, **kind), k=10)
    assert recall(got, exact) >= least
    unit = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)
    q_unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    cosines = np.einsum("ij,ij->i", unit[got["corpus_row"]], q_unit[got["query_row"]])
    np.testing.assert_allclose(got["score"], cosines, atol=1e-5)  # rescored: true cosines, in descending order
    assert (got.groupby("query_row")["score"].diff().dropna() <= 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_index_save_load_round_trip(tiny_cased, tmp_path, kind):
    corpus = tiny_cased.predict(NOTES * 40, output_level="sentence")
    queries = tiny_cased.predict(["chest pain", "fever and cough"], output_level="document")
    with pytest.warns(nlu_lite.NullVectorWarning):
        idx = nlu_lite.index(corpus, **kind)
    before = nlu_lite.nearest(queries, idx, k=7)
    folder = idx.save(tmp_path / "notes.index")
    idx.save(folder)  # an index folder is replaced
    loaded = nlu_lite.VectorIndex.load(folder)
    pd.testing.assert_frame_equal(nlu_lite.nearest(queries, loaded, k=7), before)
    assert repr(loaded) == repr(idx) and loaded.identity == idx.identity
    if kind.get("quantize"):
        assert isinstance(loaded._floats, np.memmap)  # rescoring reads the candidates' rows from disk


def test_index_refuses_queries_of_another_model_width_or_truncation(tiny_cased, tiny_uncased, tmp_path):
    corpus = tiny_cased.predict(NOTES, output_level="sentence")
    with pytest.warns(nlu_lite.NullVectorWarning):
        idx = nlu_lite.index(corpus)
    loaded = nlu_lite.VectorIndex.load(idx.save(tmp_path / "i"))
    for index in (idx, loaded):
        with pytest.raises(InvalidInputError, match=r"E529.*model="):
            nlu_lite.nearest(["chest pain"], index, pipe=tiny_uncased)
        with pytest.raises(InvalidInputError, match="E528"):
            nlu_lite.nearest(tiny_cased.predict(["chest pain"], truncate_dim=16), index)
        with pytest.raises(InvalidInputError, match="E528"):
            nlu_lite.nearest(np.ones((1, 384), np.float32), index)
    short = nlu_lite.index(tiny_cased.predict(["Chest pain.", "Fever."], truncate_dim=16, output_level="document"))
    with pytest.raises(InvalidInputError, match=r"E529.*truncate_dim=None \(index: 16\)"):
        nlu_lite.nearest(tiny_cased.predict(["chest"], layers=-1, output_level="document").assign(
            **{tiny_cased.column_name: [np.ones(16, np.float32)]}), short)
    assert len(nlu_lite.nearest(np.ones((1, 16), np.float32), short, k=1)) == 1  # arrays: width only


@pytest.mark.parametrize(("call", "error", "code"), [
    (lambda x, p: nlu_lite.index(x, method="ivf"), InvalidOptionError, "E533"),
    (lambda x, p: nlu_lite.index(x, quantize="int8", method="hnsw"), InvalidOptionError, "E534"),
    (lambda x, p: nlu_lite.index(x, quantize="int4"), InvalidOptionError, "E520"),
    (lambda x, p: nlu_lite.index(x, rescore_multiplier=0), InvalidOptionError, "E535"),
    (lambda x, p: nlu_lite.index(np.full((3, 8), np.nan, np.float32)[:, :0]), InvalidInputError, "E536"),
    (lambda x, p: nlu_lite.index(x, quantize="int8", calibration=x[:, :4]), InvalidInputError, "E526"),
    (lambda x, p: nlu_lite.index(x).save(p / "file.txt"), OutputError, "E530"),
    (lambda x, p: nlu_lite.VectorIndex.load(p), InvalidInputError, "E531"),
    (lambda x, p: nlu_lite.VectorIndex.load((p / "index.json").parent), InvalidInputError, "E532"),
    (lambda x, p: nlu_lite.nearest(x, nlu_lite.index(x), k=0), InvalidOptionError, "E208"),
])
def test_index_bad_arguments_raise_with_code(tmp_path, call, error, code):
    (tmp_path / "file.txt").mkdir()
    if code == "E532":
        (tmp_path / "index.json").write_text('{"format": "nlu_lite.index/0"}')
    with pytest.raises(error, match=code):
        call(np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32), tmp_path)


def test_index_without_faiss_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    x = np.eye(8, dtype=np.float32)
    with pytest.raises(InvalidOptionError, match=r"E527.*nlu-lite\[index\]"):
        nlu_lite.index(x)
    hits = nlu_lite.nearest(x, nlu_lite.index(x, quantize="int8"), k=1)  # int8 codes: numpy only
    assert list(hits["corpus_row"]) == list(range(8))
