"""The vector cache inside predict(): hits are bit-identical, misses happen where vectors would differ."""

from __future__ import annotations

import numpy as np
import pytest
from registered import TEXT_LEVELS

import nlu_lite

NOTES = ["Patient denies chest pain. BP 120/80, HR 72.", "Takes aspirin daily. No fever.", None,
         "Chest pain. Takes aspirin daily."]


def bits(frame, pipe):
    return [None if v is None else v.view(np.uint32).tobytes() for v in frame[pipe.column_name]]


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_cache_wiring_cold_equals_uncached_and_warm_equals_cold(tiny_cased_dir, tmp_path, level):
    plain = nlu_lite.load(path=tiny_cased_dir)
    cached = nlu_lite.load(path=tiny_cased_dir, cache=tmp_path / "v.sqlite")
    reference = plain.predict(NOTES, output_level=level)
    cold = cached.predict(NOTES, output_level=level)
    assert bits(cold, cached) == bits(reference, plain)
    forward = cached.encoder.runtime.forward
    calls = []
    cached.encoder.runtime.forward = lambda *a: calls.append(1) or forward(*a)
    warm = cached.predict(NOTES, output_level=level)
    assert calls == [] and bits(warm, cached) == bits(cold, cached)  # nothing encoded again
    assert warm.drop(columns=[cached.column_name]).equals(cold.drop(columns=[cached.column_name]))


def test_cache_wiring_changed_text_or_setting_misses(tiny_cased_dir, tmp_path):
    pipe = nlu_lite.load(path=tiny_cased_dir, cache=tmp_path / "v.sqlite")
    pipe.predict(NOTES, output_level="sentence")
    stored = pipe.cache.info()["entries"]
    pipe.predict(NOTES, output_level="sentence", pooling="max")  # another pooling: new vectors, not stale ones
    assert pipe.cache.info()["entries"] > stored
    before = pipe.cache.stats["hits"]
    df = pipe.predict(["Patient denies chest pain. A new sentence."], output_level="sentence")
    assert pipe.cache.stats["hits"] == before + 1  # the unchanged sentence is read, the new one encoded
    fresh = nlu_lite.load(path=tiny_cased_dir).predict(["Patient denies chest pain. A new sentence."],
                                                        output_level="sentence")
    np.testing.assert_allclose(np.stack(df[pipe.column_name]), np.stack(fresh[pipe.column_name]), atol=1e-6)


def test_cache_wiring_every_result_carries_provenance(tiny_cased_dir, tmp_path):
    pipe = nlu_lite.load(path=tiny_cased_dir)
    for level in TEXT_LEVELS:
        record = nlu_lite.provenance(pipe.predict(NOTES, output_level=level, chunk_size=2))
        assert record["settings"]["output_level"] == level and record["family"] == "bert"
        assert record["runtime"] == "torch" and record["dim"] == 32 and record["revision"].startswith("sha256:")
    spans = pipe.predict(NOTES, spans=nlu_lite.terms(["aspirin"]))
    assert nlu_lite.provenance(spans)["settings"]["output_level"] == "span"


def test_cache_wiring_cli_info_and_clear(tiny_cased_dir, tmp_path, capsys):
    from nlu_lite.cli._main import main

    store = tmp_path / "v.sqlite"
    pipe = nlu_lite.load(path=tiny_cased_dir, cache=store)
    pipe.predict(NOTES, output_level="sentence")
    entries = pipe.cache.info()["entries"]
    assert main(["cache", "info", str(store)]) == 0
    out = capsys.readouterr().out
    assert any(line.split()[:2] == ["entries", str(entries)] for line in out.splitlines())
    assert main(["cache", "clear", str(store)]) == 0
    assert nlu_lite.load(path=tiny_cased_dir, cache=store).cache.info()["entries"] == 0
    assert main(["cache", "info", str(tmp_path / "missing.sqlite")]) == 1


def test_cache_wiring_pipe_embed_is_document_vectors(tiny_cased):
    texts = ["Chest pain.", None, "Takes aspirin daily."]
    X = tiny_cased.embed(texts)
    assert X.shape == (3, 32) and X.dtype == np.float32 and np.isnan(X[1]).all()
    documents = nlu_lite.to_numpy(tiny_cased.predict(texts, output_level="document"))
    np.testing.assert_array_equal(X[[0, 2]], documents[[0, 2]])


def test_cache_wiring_repeated_texts_share_one_encoding_and_warm_equals_cold(tiny_cased_dir, tmp_path):
    """Boilerplate repeats (within and across chunks): equal texts, equal vectors; the warm run equals the cold."""
    notes = ["No known drug allergies. Chest pain.", "No known drug allergies. Fever.", "Chest pain."] * 3
    plain = nlu_lite.load(path=tiny_cased_dir)
    df = plain.predict(notes, output_level="sentence", chunk_size=4)
    same = df[df["sentence"] == "No known drug allergies."][plain.column_name].tolist()
    assert len(same) == 6 and len({v.tobytes() for v in same[:2]}) == 1  # one chunk: one encoding
    cached = nlu_lite.load(path=tiny_cased_dir, cache=tmp_path / "v.sqlite")
    for level in ("token", "sentence"):
        cold = cached.predict(notes, output_level=level, chunk_size=4)
        warm = cached.predict(notes, output_level=level, chunk_size=4)
        assert bits(warm, cached) == bits(cold, cached)
        np.testing.assert_allclose(np.stack(cold[cached.column_name]),
                                   np.stack(plain.predict(notes, output_level=level, chunk_size=4)[plain.column_name]),
                                   atol=1e-6)


def test_cache_wiring_an_open_vector_cache_is_used_as_given(tiny_cased_dir, tmp_path):
    from nlu_lite.cache import VectorCache
    from nlu_lite.errors import InvalidOptionError
    from nlu_lite.pipeline._pipeline import Pipeline

    store = VectorCache(tmp_path / "v.sqlite")
    pipe = nlu_lite.load(path=tiny_cased_dir, cache=store)
    assert pipe.cache is store and pipe.spec().cache == str(store.path)
    pipe.predict(NOTES, output_level="sentence")
    pipe.predict(NOTES, output_level="sentence")
    assert store.stats["stored"] > 0 and store.stats["hits"] == store.stats["stored"]  # the second run's reads
    with pytest.raises(InvalidOptionError, match="E438"):
        Pipeline.from_spec(pipe.spec(), cache=VectorCache(tmp_path / "other.sqlite"))


def test_cache_wiring_tokenizing_cache_misses_counts_as_tokenize_time_only(tiny_cased_dir, tmp_path, monkeypatch):
    import time

    from nlu_lite.pipeline import _batching as batching

    pipe = nlu_lite.load(path=tiny_cased_dir, cache=tmp_path / "v.sqlite")
    tokenize = batching.tokenize_units
    monkeypatch.setattr(batching, "tokenize_units", lambda *a, **k: time.sleep(0.5) or tokenize(*a, **k))
    pipe.predict(NOTES, output_level="sentence")  # cold: the misses are tokenized inside the encode stage
    stats = pipe.last_stats
    assert stats["tokenize_s"] >= 0.5 and stats["forward_s"] < 0.5, dict(stats)
