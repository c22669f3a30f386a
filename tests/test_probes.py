"""Probe reproducers of the robustness issue that live outside one module: bundles, names, dtypes, round trips."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite.errors import InvalidOptionError, ModelLoadError


def test_probes_bundle_settings_can_be_overridden_at_load(tiny_cased, tmp_path):
    folder = tiny_cased.save(tmp_path / "bundle")
    pipe = nlu_lite.load(path=folder, output_level="sentence", subword_pooling="mean")  # was a raw TypeError
    assert pipe.settings.output_level == "sentence" and pipe.settings.subword_pooling == "mean"


@pytest.mark.parametrize("value", [0, -5, "256", None, True])
def test_probes_bundle_entry_is_validated_at_load(tiny_cased, tmp_path, value):
    folder = tiny_cased.save(tmp_path / "bundle")
    spec = json.loads((folder / "nlu_lite.json").read_text())
    spec["entry"]["max_wordpieces"] = value
    (folder / "nlu_lite.json").write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match="E414.*max_wordpieces"):
        nlu_lite.load(path=folder)


def test_probes_save_onto_a_file_or_unwritable_place_is_our_error(tiny_cased, tmp_path):
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    with pytest.raises(InvalidOptionError, match="E044"):
        tiny_cased.save(target)
    assert target.read_text() == "keep me"
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(InvalidOptionError, match="E413"):
            tiny_cased.save(locked / "bundle")
    with pytest.raises(InvalidOptionError, match="E413"):
        tiny_cased.save("/proc/nlu_lite_bundle")


def test_probes_folder_named_like_an_alias_does_not_shadow_the_catalog(tmp_path, monkeypatch, minilm_dir):
    (tmp_path / "minilm").mkdir()  # an unrelated folder in the working directory
    monkeypatch.chdir(tmp_path)
    pipe = nlu_lite.load("minilm")
    assert pipe.entry.name == "en.embed_sentence.all_minilm_l6_v2"


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_probes_output_dtypes_do_not_depend_on_chunk_size(tiny_cased, level):
    texts = [None, None, "Chest pain. No fever.", None]
    whole = tiny_cased.predict(texts, output_level=level)
    parts = tiny_cased.predict(texts, output_level=level, chunk_size=1)
    assert whole.dtypes.to_dict() == parts.dtypes.to_dict()
    only_null = tiny_cased.predict([None, None], output_level=level)
    assert only_null.dtypes.to_dict() == whole.dtypes.to_dict()


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=4))
def test_probes_property_save_load_predict_parquet_round_trip(tiny_cased, tmp_path_factory, texts):
    """Random rows through save -> load -> predict -> Parquet -> read: nothing changes, nothing is lost."""
    folder = tmp_path_factory.mktemp("bundle")
    again = nlu_lite.load(path=tiny_cased.save(folder / "b"))
    for level in ("token", "document"):
        with warnings.catch_warnings():  # tokens of dropped characters are NaN and announced: expected here
            warnings.simplefilter("ignore", nlu_lite.NoWordpieceWarning)
            df = tiny_cased.predict(texts, output_level=level, positions=True)
            df2 = again.predict(texts, output_level=level, positions=True)
        assert set(df.index) == set(range(len(texts)))
        pd.testing.assert_frame_equal(df.drop(columns=[tiny_cased.column_name]),
                                      df2.drop(columns=[again.column_name]))
        for a, b in zip(df[tiny_cased.column_name], df2[again.column_name]):
            assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)
        path = folder / f"{level}.parquet"
        nlu_lite.provenance.write_parquet(df, path)
        back = nlu_lite.provenance.read_parquet(path)
        assert nlu_lite.provenance(back) == nlu_lite.provenance(df)
        assert back.index.tolist() == df.index.tolist()
        assert back[level].fillna("<na>").tolist() == df[level].fillna("<na>").tolist()
        for a, b in zip(df[tiny_cased.column_name], back[tiny_cased.column_name]):
            assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)
