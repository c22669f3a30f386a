"""similarity() and nearest(): cosine against brute force, null rows, ties, ids and texts, bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError
from nlu_lite.tools import _similarity as sim

NOTES = ["Patient denies chest pain. Takes aspirin daily.", None, "Fever and cough for a day. No history of bp.",
         "Dr Smith: heart rate 72, blood pressure 120/80.", ""]


def brute_force(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[list[list[int]], list[list[float]]]:
    """Per query: corpus positions by (cosine desc, position asc) in float64, unusable rows left out."""
    q = queries.astype(np.float64)
    c = corpus.astype(np.float64)
    q_norm, c_norm = np.linalg.norm(q, axis=1), np.linalg.norm(c, axis=1)
    c_ok = np.isfinite(c_norm) & (c_norm > 0)
    positions, scores = [], []
    for row, norm in zip(q, q_norm):
        if not (np.isfinite(norm) and norm > 0):
            continue
        cos = np.full(len(c), -np.inf)
        cos[c_ok] = c[c_ok] @ row / (c_norm[c_ok] * norm)
        order = [int(j) for j in np.lexsort((np.arange(len(c)), -cos)) if c_ok[j]][:k]
        positions.append(order)
        scores.append(cos[order].tolist())
    return positions, scores


def random_unnormalised(rng, n: int, dim: int, null_rows: list[int]) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32) * rng.uniform(0.01, 50.0, (n, 1)).astype(np.float32)
    for j, row in enumerate(null_rows):
        x[row] = (np.nan, 0.0, np.inf)[j % 3]
    return x


@pytest.mark.parametrize("block_bytes", [4096, 40_000, sim.BLOCK_BYTES])
@pytest.mark.parametrize("k", [1, 7])
def test_cosine_nearest_matches_brute_force_on_unnormalised_vectors_with_null_rows(block_bytes, k):
    rng = np.random.default_rng(k)
    corpus = random_unnormalised(rng, 3000, 24, null_rows=[0, 5, 2999, 1500])
    queries = random_unnormalised(rng, 41, 24, null_rows=[3, 40])
    with pytest.warns(nlu_lite.NullVectorWarning, match=r"2 of 41 query rows .* and 4 of 3000 corpus rows"):
        hits = nlu_lite.nearest(queries, corpus, k=k, block_bytes=block_bytes)
    want_positions, want_scores = brute_force(queries, corpus, k)
    assert hits.attrs["skipped"] == {"query": 2, "corpus": 4}
    assert list(hits.columns) == ["query_row", "corpus_row", "score", "rank"]
    assert sorted(set(hits["query_row"])) == [r for r in range(41) if r not in (3, 40)]
    got = hits.groupby("query_row")
    assert [list(g["corpus_row"]) for _, g in got] == want_positions
    assert np.allclose(np.concatenate([g["score"] for _, g in got]), np.concatenate(want_scores), atol=1e-5)
    assert (hits.groupby("query_row")["rank"].apply(list) == [list(range(1, k + 1))] * 39).all()


@pytest.mark.parametrize("block_bytes", [4096, sim.BLOCK_BYTES])
def test_cosine_nearest_ties_rank_the_earlier_corpus_row_first(block_bytes):
    rng = np.random.default_rng(0)
    base = rng.integers(-3, 4, size=(600, 16)).astype(np.float32)  # small integers: dot products are exact
    # equal cosines at unequal norms; with 4096-byte blocks (1,024 corpus rows) the copies lie in other blocks
    corpus = np.concatenate([base, base * 2.0, base * 0.5, base])
    queries = base[[4, 17]]
    hits = nlu_lite.nearest(queries, corpus, k=6, block_bytes=block_bytes)
    want_positions, _ = brute_force(queries, corpus, 6)
    assert [list(g["corpus_row"]) for _, g in hits.groupby("query_row")] == want_positions
    assert list(hits["corpus_row"][:4]) == [4, 604, 1204, 1804]  # the four copies of query 0, in corpus order
    assert np.allclose(hits["score"][:4], 1.0, atol=1e-6)


@pytest.mark.parametrize("k", [10, 1000])
def test_cosine_nearest_k_larger_than_corpus_returns_every_usable_row(k):
    corpus = np.array([[1, 0], [0, 0], [1, 1], [-1, 0], [0, 3]], dtype=np.float64)
    with pytest.warns(nlu_lite.NullVectorWarning, match=r"1 of 5 corpus rows \(positions \[1\]\)"):
        hits = nlu_lite.nearest(np.array([[2.0, 0.0]]), corpus, k=k)
    assert list(hits["corpus_row"]) == [0, 2, 4, 3]
    assert np.allclose(hits["score"], [1.0, 2 ** -0.5, 0.0, -1.0], atol=1e-6)
    assert list(hits["rank"]) == [1, 2, 3, 4]


def test_cosine_nearest_on_frames_keeps_ids_texts_and_joins_back(tiny_cased):
    corpus = tiny_cased.predict(pd.DataFrame({"note": NOTES, "ward": list("ABCDE")}, index=[10, 11, 12, 13, 14]),
                                output_level="sentence", text_column="note")
    queries = ["chest pain", "fever"]
    with pytest.warns(nlu_lite.NullVectorWarning, match=r"2 of 7 corpus rows"):
        hits = nlu_lite.nearest(queries, corpus, k=3, pipe=tiny_cased)
    assert list(hits.columns) == ["query_row", "query_origin_index", "query_document", "corpus_row",
                                  "corpus_origin_index", "corpus_sentence_id", "corpus_sentence", "score", "rank"]
    assert list(hits["query_document"]) == ["chest pain"] * 3 + ["fever"] * 3
    # brute force on the pipeline's own vectors (the query embedded as a document)
    want, want_scores = brute_force(nlu_lite.embed(tiny_cased, queries), nlu_lite.to_numpy(corpus), 3)
    assert [list(g["corpus_row"]) for _, g in hits.groupby("query_row")] == want
    assert np.allclose(hits["score"], np.concatenate(want_scores), atol=1e-5)
    joined = hits.merge(corpus, left_on=["corpus_origin_index", "corpus_sentence_id"],
                        right_on=["origin_index", "sentence_id"])
    assert len(joined) == len(hits)
    assert (joined["corpus_sentence"] == joined["sentence"]).all()
    assert list(joined["ward"]) == list(corpus["ward"].iloc[hits["corpus_row"]])
    assert not set(hits["corpus_origin_index"]) & {11, 14}  # empty notes are never matched


def test_cosine_nearest_document_queries_against_document_corpus(tiny_cased):
    docs = tiny_cased.predict(NOTES, output_level="document")
    with pytest.warns(nlu_lite.NullVectorWarning, match=r"2 of 5 query rows .* and 2 of 5 corpus rows"):
        hits = nlu_lite.nearest(docs, docs, k=1)
    assert list(hits["query_row"]) == list(hits["corpus_row"]) == [0, 2, 3]  # each note finds itself
    assert list(hits["query_document"]) == list(hits["corpus_document"]) == [NOTES[0], NOTES[2], NOTES[3]]
    assert np.allclose(hits["score"], 1.0, atol=1e-6)


def test_cosine_matrix_is_cosine_whether_or_not_normalised(tiny_cased):
    from sklearn.metrics.pairwise import cosine_similarity

    sentences = tiny_cased.predict(NOTES, output_level="sentence")
    with pytest.warns(nlu_lite.NullVectorWarning, match=r"similarity\(\): 2 of 7 rows of a"):
        matrix = nlu_lite.similarity(sentences)
    kept = sentences[sentences[tiny_cased.column_name].notna()]
    vectors = nlu_lite.to_numpy(kept)
    assert np.allclose(matrix.to_numpy(), cosine_similarity(vectors), atol=1e-5)
    assert list(matrix.index) == list(matrix.columns) == list(kept["sentence"])
    scaled = np.concatenate([vectors * 7.0, vectors[:2] * 0.01])
    cross = nlu_lite.similarity(scaled, vectors)
    assert cross.shape == (len(vectors) + 2, len(vectors)) and cross.index.name == "row"
    assert np.allclose(cross.to_numpy(), cosine_similarity(scaled, vectors), atol=1e-5)
    by_index = nlu_lite.similarity(["chest pain", "fever"], kept, pipe=tiny_cased, label="origin_index")
    assert list(by_index.index) == [0, 1] and list(by_index.columns) == list(kept.index)


def test_cosine_nearest_working_memory_is_bounded_by_the_block():
    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((100_000, 32), dtype=np.float32)  # 12.8 MB
    queries = rng.standard_normal((200, 32), dtype=np.float32)
    block = 2**20
    tracemalloc.start()
    hits = nlu_lite.nearest(queries, corpus, k=5, block_bytes=block)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(hits) == 1000
    assert peak < 12 * block  # a full 200 x 100,000 score matrix would be 80 MB


@pytest.mark.parametrize(("call", "error", "code"), [
    (lambda pipe: nlu_lite.nearest(np.ones((1, 2)), np.ones((3, 2)), k=0), InvalidOptionError, "E208"),
    (lambda pipe: nlu_lite.nearest(np.ones((1, 2)), np.ones((3, 2)), block_bytes=10), InvalidOptionError, "E209"),
    (lambda pipe: nlu_lite.nearest(["chest pain"], np.ones((3, 2))), InvalidInputError, "E204"),
    (lambda pipe: nlu_lite.nearest(np.ones((1, 2)), np.ones((3, 5))), InvalidInputError, "E206"),
    (lambda pipe: nlu_lite.nearest(np.array([["a", "b"]]), np.ones((3, 2))), InvalidInputError, "E203"),
    (lambda pipe: nlu_lite.nearest({"a": 1}, np.ones((3, 2))), InvalidInputError, "E205"),
    (lambda pipe: nlu_lite.similarity(pipe.predict("No fever."), label="ward"), InvalidInputError, "E207"),
])
def test_cosine_bad_arguments_raise_with_code(tiny_cased, call, error, code):
    with pytest.raises(error, match=rf"\[{code}\]"):
        call(tiny_cased)


def test_cosine_search_on_arrays_imports_no_torch():
    import json
    import subprocess
    import sys

    probe = ("import json, sys, numpy as np, nlu_lite\n"
             "nlu_lite.nearest(np.eye(3), np.eye(3), k=1); nlu_lite.similarity(np.eye(2)); nlu_lite.aggregate\n"
             "nlu_lite.EmbeddingTransformer\n"
             "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'spacy') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_cosine_nearest_on_span_rows_keeps_span_offsets(tiny_cased):
    texts = ["Patient denies chest pain.", "Fever and cough."]
    spans = tiny_cased.predict(texts, spans=[[(15, 25)], [(0, 5), (10, 15)]], output_level="span")
    hits = nlu_lite.nearest(["chest pain"], spans, k=3, pipe=tiny_cased)
    assert {"corpus_span", "corpus_begin", "corpus_end", "corpus_sentence_id"} <= set(hits.columns)
    for _, hit in hits.iterrows():
        assert texts[hit["corpus_origin_index"]][hit["corpus_begin"]:hit["corpus_end"]] == hit["corpus_span"]
    want, _ = brute_force(nlu_lite.embed(tiny_cased, ["chest pain"]), nlu_lite.to_numpy(spans), 3)
    assert list(hits["corpus_row"]) == want[0]


def test_cosine_nearest_on_aggregate_result_uses_its_group_keys(tiny_cased):
    sentences = tiny_cased.predict(pd.DataFrame({"text": NOTES, "ward": list("ABABA")}), output_level="sentence")
    per_ward = nlu_lite.aggregate(sentences, by="ward")
    hits = nlu_lite.nearest(["chest pain"], per_ward, k=5, pipe=tiny_cased)
    assert list(hits.columns) == ["query_row", "query_origin_index", "query_document", "corpus_row", "corpus_ward",
                                  "score", "rank"]
    want, want_scores = brute_force(nlu_lite.embed(tiny_cased, ["chest pain"]), nlu_lite.to_numpy(per_ward), 5)
    assert list(hits["corpus_ward"]) == [["A", "B"][j] for j in want[0]]
    assert np.allclose(hits["score"], want_scores[0], atol=1e-5)
