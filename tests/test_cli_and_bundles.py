"""pipe.save() bundles and the quick-start notebook (the command line: tests/test_cli.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import nlu_lite
from nlu_lite.errors import InvalidOptionError

TEXTS = ["Patient denies chest pain. BP 120/80.", "Takes aspirin daily."]


def test_bundle_save_and_load_reproduces_vectors(tiny_cased_dir, tmp_path):
    pipe = nlu_lite.load(path=tiny_cased_dir, subword_pooling="mean", sentence_splitter="sentencizer")
    folder = pipe.save(tmp_path / "bundle")
    assert (folder / "nlu_lite.json").is_file() and (folder / "model.safetensors").is_file()
    again = nlu_lite.load(path=folder)
    assert again.settings == pipe.settings and again.sentence_splitter == "sentencizer"
    assert again.column_name == pipe.column_name
    a = np.stack(pipe.predict(TEXTS)[pipe.column_name].to_list())
    b = np.stack(again.predict(TEXTS)[again.column_name].to_list())
    np.testing.assert_array_equal(a, b)


def test_bundle_refuses_non_empty_folder(tiny_cased, tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(InvalidOptionError, match="not empty"):
        tiny_cased.save(tmp_path)


@pytest.mark.slow
def test_notebook_quickstart_runs_offline(tmp_path):
    """The notebook runs from a clone-like folder with no ../shared beside it, on the packaged sample notes."""
    nbformat = pytest.importorskip("nbformat", reason="pip install nbclient (the [test] extra)")
    nbclient = pytest.importorskip("nbclient", reason="pip install nbclient (the [test] extra)")
    path = tmp_path / "clone" / "notebooks" / "quickstart.ipynb"
    path.parent.mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb", path)
    notebook = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in notebook.cells)
    assert "nlu_lite.sample_notes()" in source and "shared" not in source and "MTSamples" not in source
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # the 2-D map and the heatmap
    assert not any("Warning" in o.get("text", "") for o in outputs if o.output_type == "stream")


def test_bundle_with_broken_settings_file_is_a_load_error(tiny_cased, tmp_path):
    folder = tiny_cased.save(tmp_path / "bundle")
    (folder / "nlu_lite.json").write_text('{"entry": {}}')
    with pytest.raises(nlu_lite.errors.ModelLoadError, match="not a valid nlu_lite bundle"):
        nlu_lite.load(path=folder)
