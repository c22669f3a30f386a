"""Models from the Hugging Face cache: hub ids outside the catalog, and the resolved commit as provenance."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import nlu_lite

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch, tiny_cased_dir):
    """A Hugging Face cache holding the tiny model as 'clinic-lab/tiny-notes-bert' at COMMIT (offline)."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub"
    repo = cache / "models--clinic-lab--tiny-notes-bert"
    shutil.copytree(tiny_cased_dir, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_hub_cache_hub_id_outside_the_catalog_gets_a_derived_entry(hf_cache, tiny_cased):
    pipe = nlu_lite.load("clinic-lab/tiny-notes-bert")
    assert pipe.source.kind == "hf_cache" and pipe.entry.hf_id == "clinic-lab/tiny-notes-bert"
    assert pipe.entry.family == "bert" and pipe.entry.dim == 32 and pipe.entry.max_wordpieces == 64
    assert pipe.column_name == "clinic_lab_tiny_notes_bert_embeddings"
    a = np.stack(pipe.predict("Chest pain.", output_level="token")[pipe.column_name])
    b = np.stack(tiny_cased.predict("Chest pain.", output_level="token")[tiny_cased.column_name])
    np.testing.assert_array_equal(a, b)


def test_hub_cache_commit_is_recorded_shown_and_bundled(hf_cache, tmp_path, capsys):
    pipe = nlu_lite.load("clinic-lab/tiny-notes-bert")
    assert pipe.commit == COMMIT and pipe.spec().revision == COMMIT
    pipe.print_info()
    assert f"commit {COMMIT}" in capsys.readouterr().out
    again = nlu_lite.load(path=pipe.save(tmp_path / "bundle"))
    assert again.commit == COMMIT and again.source.kind == "bundle"
