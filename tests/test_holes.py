"""Holes found by probing (issue "Nothing wrong without a word"): each test failed before its fix."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file, save_file

import nlu_lite
from nlu_lite.cache import VectorCache
from nlu_lite.errors import CacheError, ModelLoadError

ROOT = Path(__file__).resolve().parents[1]
NOTE = "Patient denies chest pain. No fever."


def bits(frame, pipe) -> list:
    return [None if v is None else v.tobytes() for v in frame[pipe.column_name]]


# --- 3. non-finite weights and outputs --------------------------------------------------------------------------

def test_holes_nan_weights_are_a_load_error_naming_the_tensor(tiny_cased_dir, tmp_path):
    damaged = Path(shutil.copytree(tiny_cased_dir, tmp_path / "damaged"))
    weights = load_file(damaged / "model.safetensors")
    name = next(k for k in weights if "word_embeddings" in k)
    weights[name][5:9] = float("nan")  # a few embedding rows overwritten
    save_file(weights, damaged / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=f"E446.*{name}"):
        nlu_lite.load(path=damaged)


def test_holes_non_finite_outputs_are_never_silent(tiny_cased, monkeypatch):
    forward = tiny_cased.encoder.runtime.forward

    def overflowing(ids, mask, layers=(-1,)):
        out = forward(ids, mask, layers)
        out[:, :, 1] = np.inf  # what an fp16 overflow leaves
        return out

    monkeypatch.setattr(tiny_cased.encoder.runtime, "forward", overflowing)
    for level in ("token", "sentence", "document"):
        with pytest.raises(ModelLoadError, match="E447.*overflow"):
            tiny_cased.predict(NOTE, output_level=level)


# --- 4. and 10. caches that are not ours, or read-only -----------------------------------------------------------

def test_holes_another_programs_database_is_refused_unchanged(tmp_path):
    path = tmp_path / "clinic.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO patients VALUES (1, 'A')")
    before = path.read_bytes()
    with pytest.raises(CacheError, match="E374.*patients"):
        VectorCache(path)
    assert path.read_bytes() == before  # no table, trigger or journal-mode change
    assert not Path(str(path) + "-wal").exists()


def test_holes_read_only_cache_reads_hits_and_stores_nothing(tiny_cased_dir, tmp_path, monkeypatch):
    from nlu_lite.cache import _store

    path = tmp_path / "v.sqlite"
    warm = nlu_lite.load(path=tiny_cased_dir, cache=path)
    reference = warm.predict([NOTE], output_level="sentence")
    warm.cache.close()
    entries = VectorCache(path).info()["entries"]
    monkeypatch.setattr(_store, "_writable", lambda p: False)  # root may write anything: pretend it may not
    reader = nlu_lite.load(path=tiny_cased_dir, cache=path)
    again = reader.predict([NOTE, "A sentence the cache lacks."], output_level="sentence")
    assert reader.cache.read_only and reader.cache.stats["hits"] == 2 and reader.cache.stats["not_stored"] == 1
    assert bits(again.iloc[:2], reader) == bits(reference, warm)
    monkeypatch.undo()
    assert VectorCache(path).info()["entries"] == entries


def test_holes_cache_under_a_regular_file_is_our_error(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(CacheError, match="E370.*file.txt"):
        VectorCache(tmp_path / "file.txt" / "sub" / "v.sqlite")


# --- 5. links in a bundle ------------------------------------------------------------------------------------------

def test_holes_save_refuses_a_link_that_leaves_the_model_folder(tiny_cased_dir, tmp_path):
    folder = Path(shutil.copytree(tiny_cased_dir, tmp_path / "model"))
    secret = tmp_path / "secret.txt"  # outside the model folder (think /etc/passwd), readable as the file it replaces
    shutil.move(folder / "tokenizer_config.json", secret)
    (folder / "tokenizer_config.json").symlink_to(secret)
    pipe = nlu_lite.load(path=folder)
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match="E445.*secret.txt"):
        pipe.save(tmp_path / "bundle")
    assert not (tmp_path / "bundle" / "tokenizer_config.json").exists()


def test_holes_save_follows_hugging_face_snapshot_links(tiny_cased_dir, tmp_path):
    repo = tmp_path / "models--org--tiny"
    snapshot = repo / "snapshots" / ("a" * 40)
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for item in Path(tiny_cased_dir).iterdir():
        blob = repo / "blobs" / item.name
        shutil.copy2(item, blob)
        (snapshot / item.name).symlink_to(os.path.relpath(blob, snapshot))
    pipe = nlu_lite.load(path=snapshot)
    bundle = pipe.save(tmp_path / "bundle")
    assert not any(p.is_symlink() for p in bundle.iterdir())
    np.testing.assert_array_equal(nlu_lite.load(path=bundle).embed([NOTE]), pipe.embed([NOTE]))


# --- 6. fork after predict ---------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_holes_forked_child_predicts_instead_of_hanging(tiny_cased_dir):
    code = textwrap.dedent(f"""
        import os, signal, torch, nlu_lite
        pipe = nlu_lite.load(path={str(tiny_cased_dir)!r}, threads=2)
        texts = ["Chest pain. No fever."] * 200
        expected = pipe.embed(texts)  # torch's OpenMP threads are running now
        pid = os.fork()
        if pid == 0:
            signal.alarm(60)  # a hang ends the child with SIGALRM
            ok = bool(abs(pipe.embed(texts) - expected).max() < 1e-5)
            os._exit(0 if ok else 3)
        print(os.waitpid(pid, 0)[1])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                         env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert out.returncode == 0, out.stderr[-2000:]
    status = int(out.stdout.split()[-1])
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status} (SIGALRM={signal.SIGALRM})"


# --- 7. and 11. inputs that are text in another type ------------------------------------------------------------

class Note(str):
    """A str subclass, as some loaders return."""


@pytest.mark.parametrize("level", ["token", "sentence", "document"])
@pytest.mark.parametrize("data", [np.array([NOTE]), [np.str_(NOTE)], [Note(NOTE)], pd.Series([Note(NOTE)]),
                                  np.array(NOTE)], ids=["array-U", "np.str_", "str-subclass", "series", "0-d"])
def test_holes_numpy_strings_and_str_subclasses_are_text(tiny_cased, data, level):
    expected = tiny_cased.predict([NOTE], output_level=level)
    got = tiny_cased.predict(data, output_level=level)
    assert got.drop(columns=tiny_cased.column_name).equals(expected.drop(columns=tiny_cased.column_name))
    assert bits(got, tiny_cased) == bits(expected, tiny_cased)


def test_holes_pyarrow_and_polars_tables_are_dataframes(tiny_cased):
    pa = pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"note_id": [7, 8], "note": [NOTE, None], "ward": ["A", "B"]})
    expected = tiny_cased.predict(frame, output_level="sentence", text_column="note", id_column="note_id")
    for table in (pa.Table.from_pandas(frame, preserve_index=False),
                  pa.RecordBatch.from_pandas(frame, preserve_index=False)):
        got = tiny_cased.predict(table, output_level="sentence", text_column="note", id_column="note_id")
        assert got.drop(columns=tiny_cased.column_name).equals(expected.drop(columns=tiny_cased.column_name))
    try:
        import polars as pl
    except ImportError:
        return  # polars is optional: pyarrow's tables above take the same path (to_pandas)
    got = tiny_cased.predict(pl.from_pandas(frame), output_level="sentence", text_column="note", id_column="note_id")
    assert list(got["sentence"].fillna("")) == list(expected["sentence"].fillna(""))


# --- 8. and 12. bundle specs that are damaged ---------------------------------------------------------------------

@pytest.mark.parametrize(("change", "code"), [
    (lambda spec: {**spec, "model_path": None}, "E412"),
    (lambda spec: {**spec, "entry": {**spec["entry"], "aliases": "clinical"}}, "E414"),
    (lambda spec: {**spec, "entry": {**spec["entry"], "prompts": ["query: "]}}, "E414"),
])
def test_holes_bad_bundle_values_are_refused(tiny_cased, tmp_path, change, code):
    bundle = tiny_cased.save(tmp_path / "bundle")
    spec = json.loads((bundle / "nlu_lite.json").read_text("utf-8"))
    (bundle / "nlu_lite.json").write_text(json.dumps(change(spec)), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=code):
        nlu_lite.load(path=bundle)


def test_holes_latin1_bundle_file_is_refused(tiny_cased, tmp_path):
    bundle = tiny_cased.save(tmp_path / "bundle")
    text = (bundle / "nlu_lite.json").read_text("utf-8").replace('"description": "', '"description": "caf\u00e9 ')
    (bundle / "nlu_lite.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(ModelLoadError, match="E444.*not UTF-8"):
        nlu_lite.load(path=bundle)
