"""Several models in one call (NLU's ``load("a b")``): each column equals that model alone, text segmented once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import build_tiny_bert
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite.errors import UnknownModelError

TEXTS = ["Patient denies chest pain. BP 120/80, HR 72.", None, "", "Takes aspirin daily.\n\nNo fever. No cough."]


@pytest.fixture(scope="module")
def second_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny_second", cased=True, seed=1)


@pytest.fixture(scope="module")
def group(tiny_cased_dir, second_dir):
    return nlu_lite.load(f"{tiny_cased_dir} {second_dir}")  # NLU's space-separated form


def same_cells(a, b) -> bool:
    return all((x is None and y is None) or (x is not None and y is not None and x.tobytes() == y.tobytes())
               for x, y in zip(a, b))


@pytest.mark.parametrize("level", [*TEXT_LEVELS, "span"])
def test_group_equals_each_model_alone_column_for_column(group, level):
    spans = nlu_lite.terms(["chest pain", "aspirin"]) if level == "span" else None
    frame = pd.DataFrame({"text": TEXTS, "ward": list("abcd")})
    got = group.predict(frame, output_level=level, spans=spans, positions=True, chunk_size=3)
    alone = [p.predict(frame, output_level=level, spans=spans, positions=True, chunk_size=3) for p in group.pipelines]
    shared = [c for c in alone[0].columns if c != group.column_names[0]]
    assert list(got.columns) == [*shared[:shared.index("ward")], *group.column_names, "ward"]
    assert got[shared].equals(alone[0][shared]) and got.index.equals(alone[0].index)
    for column, single in zip(group.column_names, alone):
        assert same_cells(got[column], single[column])
    assert set(nlu_lite.provenance(got)["models"]) == set(group.column_names)


def test_group_segments_the_text_once(group, monkeypatch):
    from nlu_lite.text import _segmentation

    calls = []
    real = _segmentation.segment
    monkeypatch.setattr(_segmentation, "segment", lambda texts, nlp: calls.append(len(texts)) or real(texts, nlp))
    group.predict(TEXTS * 3, output_level="token", chunk_size=5)
    assert calls == [3, 2, 1]  # one call per chunk (its non-empty texts), not one per model


@pytest.mark.parametrize("options", [{"prefetch": False}, {"segment_processes": 2}])
def test_group_prepares_the_next_chunk_ahead_with_the_same_rows(group, monkeypatch, options):
    """As for one model: prefetch (the default) prepares each chunk for every model on the worker thread, and
    segment processes segment it; the rows are those of the plain loop."""
    import threading

    from nlu_lite.pipeline._engine import Engine

    notes = list(nlu_lite.sample_notes()["text"][:40]) + [None, ""]
    threads = []
    real = Engine._prepare_chunk
    monkeypatch.setattr(Engine, "_prepare_chunk", lambda self, *a, **k: threads.append(
        threading.current_thread().name) or real(self, *a, **k))
    ahead = group.predict(notes, output_level="token", chunk_size=9)
    assert len(threads) == 2 * 5 and all(name.startswith("nlu_lite-prepare") for name in threads)
    other = group.predict(notes, output_level="token", chunk_size=9, **options)
    assert ahead.drop(columns=list(group.column_names)).equals(other.drop(columns=list(group.column_names)))
    for column in group.column_names:
        assert same_cells(ahead[column], other[column])
    if options.get("prefetch") is False:
        assert threading.main_thread().name in threads[10:]


def test_group_unknown_name_fails_before_any_model_loads(tiny_cased_dir, monkeypatch):
    from nlu_lite.pipeline._engine import Engine

    monkeypatch.setattr(Engine, "from_spec", classmethod(lambda cls, *a, **k: pytest.fail("a model loaded")))
    with pytest.raises(UnknownModelError, match="E042.*clinical_bertt.*Closest"):
        nlu_lite.load([str(tiny_cased_dir), "clinical_bertt"])


def test_group_options_per_model(tiny_cased_dir, second_dir):
    group = nlu_lite.load({str(tiny_cased_dir): {"pooling": "max"}, str(second_dir): {}})
    got = group.predict(TEXTS, output_level="sentence")
    alone = nlu_lite.load(path=tiny_cased_dir, pooling="max").predict(TEXTS, output_level="sentence")
    assert same_cells(got[group.column_names[0]], alone[group.column_names[0]])
    records = nlu_lite.provenance(got)["models"]
    assert records[group.column_names[0]]["settings"]["pooling"] == "max"
    assert records[group.column_names[1]]["settings"]["pooling"] == "mean"


def test_group_output_path_keeps_every_vector_column(group, tmp_path):
    written = group.predict(TEXTS * 100, output_level="sentence", output_path=tmp_path / "v.parquet")
    back = nlu_lite.provenance.read_parquet(written.path)
    expected = group.predict(TEXTS * 100, output_level="sentence")
    assert written.rows == len(expected) and list(back.columns) == list(expected.columns)
    for column in group.column_names:
        assert same_cells(back[column], expected[column])
    assert nlu_lite.provenance(back) == nlu_lite.provenance(expected)


def test_group_embed_gives_one_matrix_per_model(group):
    matrices = group.embed(["Chest pain.", None])
    assert list(matrices) == list(group.column_names)
    for column, pipe in zip(group.column_names, group.pipelines):
        np.testing.assert_array_equal(matrices[column], pipe.embed(["Chest pain.", None]))


def test_group_needs_two_different_models(tiny_cased_dir):
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match="E073"):
        nlu_lite.load([str(tiny_cased_dir), str(tiny_cased_dir)])


def test_group_bundle_round_trip_is_bit_equal(tiny_cased_dir, second_dir, tmp_path):
    """group.save(folder) -> nlu_lite.load(folder): the same models with their own options, bit-equal vectors,
    offline (the bundle is all that is read: the original folders are gone)."""
    import shutil

    first, second = (shutil.copytree(d, tmp_path / "src" / d.name) for d in (tiny_cased_dir, second_dir))
    group = nlu_lite.load({str(first): {"subword_pooling": "mean"}, str(second): {"positions": True}})
    frame = pd.DataFrame({"text": TEXTS * 3})
    before = {level: group.predict(frame, output_level=level) for level in TEXT_LEVELS}
    folder = group.save(tmp_path / "bundle")
    shutil.rmtree(tmp_path / "src")
    for again in (nlu_lite.load(str(folder)), nlu_lite.load(path=folder)):
        assert again.column_names == group.column_names
        assert [p.settings for p in again.pipelines] == [p.settings for p in group.pipelines]
        for level, expected in before.items():
            got = again.predict(frame, output_level=level)
            assert list(got.columns) == list(expected.columns)
            for column in group.column_names:
                assert same_cells(got[column], expected[column])
            records = nlu_lite.provenance(got)["models"]
            assert [records[c]["source_kind"] for c in group.column_names] == ["bundle", "bundle"]


@pytest.mark.parametrize(("manifest", "code"), [
    ("not json", "E456"),
    ('{"format": "nlu_lite.group", "version": 1, "models": ["../escape", "b"]}', "E457"),
    ('{"format": "nlu_lite.group", "version": 2, "models": ["a", "b"]}', "E457"),
    ('{"format": "nlu_lite.group", "version": 1, "models": ["gone", "tiny_cased_embeddings"]}', "E458"),
])
def test_group_bundle_bad_manifest_says_what_to_do(group, tmp_path, manifest, code):
    folder = group.save(tmp_path / "bundle")
    (folder / "nlu_lite_group.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(nlu_lite.errors.ModelLoadError, match=f"{code}.*group.save"):
        nlu_lite.load(path=folder)


def test_group_save_refuses_a_folder_in_use(group, tmp_path):
    (tmp_path / "used.txt").write_text("x")
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match="E044"):
        group.save(tmp_path)


def test_group_output_path_on_spark_says_how(group):
    fake = type("DataFrame", (), {"__module__": "pyspark.sql.dataframe", "mapInPandas": None})()
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match="E072.*write.parquet"):
        group.predict(fake, output_path="v.parquet")
