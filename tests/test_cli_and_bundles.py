"""pipe.save() bundles, the nlu-lite command line and the quick-start notebook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nlu_lite
from nlu_lite.cli import main
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


def test_cli_predict_text_to_jsonl(tiny_cased_dir, capsys):
    assert main(["predict", "Chest pain. No fever.", "--model", str(tiny_cased_dir), "--level", "sentence"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["sentence"] for r in rows] == ["Chest pain.", "No fever."]
    assert len(rows[0]["tiny_cased_embeddings"]) == 32


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_cli_predict_file_round_trip(tiny_cased_dir, tmp_path, suffix):
    source = tmp_path / "notes.csv"
    pd.DataFrame({"note": TEXTS + [None], "id": [1, 2, 3]}).to_csv(source, index=False)
    out = tmp_path / f"out{suffix}"
    code = main(["predict", "--input", str(source), "--text-column", "note", "--output", str(out),
                 "--model", str(tiny_cased_dir), "--level", "document"])
    assert code == 0
    expected = np.stack(nlu_lite.load(path=tiny_cased_dir).predict(TEXTS, output_level="document")
                        ["tiny_cased_embeddings"].to_list())
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        field_type = pq.read_schema(out).field("tiny_cased_embeddings").type
        assert pa.types.is_fixed_size_list(field_type) and field_type.list_size == 32
        assert field_type.value_type == pa.float32()
        back = pd.read_parquet(out)
    elif suffix == ".csv":
        back = pd.read_csv(out)
        back["tiny_cased_embeddings"] = [None if pd.isna(v) else json.loads(v) for v in back["tiny_cased_embeddings"]]
    else:
        back = pd.read_json(out, lines=True)
    assert back["id"].tolist() == [1, 2, 3]
    assert back["tiny_cased_embeddings"].iloc[2] is None  # the empty input: a null vector, not NaNs
    got = np.stack([np.asarray(v, dtype=np.float32) for v in back["tiny_cased_embeddings"].iloc[:2]])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("argv,code,fragment", [
    (["info", "clinical_bert"], 0, "emilyalsentzer/Bio_ClinicalBERT"),
    (["search", "bluebert"], 0, "bionlp/bluebert"),
    (["info", "clinicl_bert"], 1, "Closest catalog names"),
    (["predict"], 1, "either a text argument or --input"),
])
def test_cli_commands_and_errors(argv, code, fragment, capsys):
    assert main(argv) == code
    captured = capsys.readouterr()
    assert fragment in captured.out + captured.err


def test_cli_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "nlu_lite", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "predict" in proc.stdout


@pytest.mark.slow
def test_notebook_quickstart_runs_offline():
    nbformat = pytest.importorskip("nbformat", reason="pip install nbclient (the [test] extra)")
    nbclient = pytest.importorskip("nbclient", reason="pip install nbclient (the [test] extra)")
    path = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # the 2-D map and the heatmap
    assert not any("Warning" in o.get("text", "") for o in outputs if o.output_type == "stream")


def test_cli_download_writes_a_bundle_that_loads_offline(tmp_path, minilm_dir, monkeypatch, capsys):
    """`download` resolves like load() (here: the packaged model, no network) and saves a bundle."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    target = tmp_path / "minilm_bundle"
    assert main(["download", "minilm", "--to", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    pipe = nlu_lite.load(path=target)
    assert pipe.column_name == "en_embed_sentence_all_minilm_l6_v2_embeddings" and pipe.settings.normalize
    reference = nlu_lite.load("minilm")
    np.testing.assert_array_equal(nlu_lite.to_numpy(pipe.predict(TEXTS)), nlu_lite.to_numpy(reference.predict(TEXTS)))


def test_bundle_with_broken_settings_file_is_a_load_error(tiny_cased, tmp_path):
    folder = tiny_cased.save(tmp_path / "bundle")
    (folder / "nlu_lite.json").write_text('{"entry": {}}')
    with pytest.raises(nlu_lite.errors.ModelLoadError, match="not a valid nlu_lite bundle"):
        nlu_lite.load(path=folder)
