"""Load-time truth: nothing runs that should not, nothing broken loads (issue probes as tests)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

import nlu_lite
from nlu_lite.errors import ModelLoadError


@pytest.fixture
def copy_of(tiny_cased_dir, tmp_path):
    def make(name: str = "model"):
        folder = tmp_path / name
        shutil.copytree(tiny_cased_dir, folder)
        return folder
    return make


def _edit_weights(folder, edit) -> None:
    tensors = load_file(folder / "model.safetensors")
    edit(tensors)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


@pytest.mark.parametrize("tensor", ["embeddings.word_embeddings.weight", "encoder.layer.1.attention.self.query.weight"])
def test_load_truth_missing_weights_are_an_error_naming_them(copy_of, tensor):
    folder = copy_of()
    _edit_weights(folder, lambda t: t.pop(tensor))
    with pytest.raises(ModelLoadError, match=r"E404.*missing.*" + tensor.replace(".", r"\.")):
        nlu_lite.load(path=folder)


@pytest.mark.parametrize("layers", [1, 3])
def test_load_truth_layer_count_mismatch_is_an_error(copy_of, layers):
    folder = copy_of()  # the weights have 2 layers
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = layers
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="E404.*(missing|layers the config does not have)"):
        nlu_lite.load(path=folder)


def test_load_truth_pooler_and_pretraining_head_are_fine(copy_of, tiny_cased):
    folder = copy_of()

    def edit(t):
        for name in [k for k in t if k.startswith("pooler.")]:
            t.pop(name)
        t["cls.predictions.bias"] = torch.zeros(4)

    _edit_weights(folder, edit)
    pipe = nlu_lite.load(path=folder)
    a = pipe.predict("Chest pain.", output_level="token")[pipe.column_name].iloc[0]
    b = tiny_cased.predict("Chest pain.", output_level="token")[tiny_cased.column_name].iloc[0]
    assert (a == b).all()


def test_load_truth_custom_code_is_refused_without_a_prompt(copy_of):
    folder = copy_of()
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="evil_bert", auto_map={"AutoModel": "modeling_evil.EvilModel",
                                                    "AutoConfig": "configuration_evil.EvilConfig"})
    (folder / "config.json").write_text(json.dumps(config))
    marker = folder / "ran.txt"
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (folder / "configuration_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    code = (f"import nlu_lite\ntry:\n    nlu_lite.load(path={str(folder)!r})\n"
            "except nlu_lite.errors.ModelLoadError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], input="y\ny\n", capture_output=True, text=True, timeout=300)
    assert "E403" in out.stdout and "trust_remote_code" in out.stdout, out.stderr[-2000:]
    assert "[y/N]" not in out.stdout + out.stderr
    assert not marker.exists()


def test_load_truth_legacy_config_without_model_type(copy_of, tiny_cased):
    folder = copy_of("legacy")
    config = json.loads((folder / "config.json").read_text())
    config.pop("model_type")
    config.pop("architectures", None)
    (folder / "config.json").write_text(json.dumps(config))
    # weights named like 2019 checkpoints: bert.embeddings..., with the pre-training head
    _edit_weights(folder, lambda t: t.update({f"bert.{k}": t.pop(k) for k in list(t)}))
    pipe = nlu_lite.load(path=folder)
    assert pipe.encoder.family == "bert"
    a = pipe.predict("Chest pain.", output_level="document")[pipe.column_name].iloc[0]
    b = tiny_cased.predict("Chest pain.", output_level="document")[tiny_cased.column_name].iloc[0]
    assert (a == b).all()


def test_load_truth_no_family_anywhere_says_what_is_missing(copy_of):
    folder = copy_of()
    config = json.loads((folder / "config.json").read_text())
    config.pop("model_type")
    (folder / "config.json").write_text(json.dumps(config))
    _edit_weights(folder, lambda t: t.update({f"mystery.{k}": t.pop(k) for k in list(t)}))
    with pytest.raises(ModelLoadError, match=r"E402.*no \"model_type\".*\"model_type\": \"bert\""):
        nlu_lite.load(path=folder)


def test_load_truth_roberta_limit_is_max_positions_minus_offset(tmp_path):
    from families import build

    folder = build("roberta", tmp_path / "roberta", max_positions=40)  # config says 42 positions, pad id 1
    pipe = nlu_lite.load(path=folder)
    assert pipe.encoder.max_sequence == 40
    text = " ".join(["The patient denies chest pain"] * 30)  # one sentence of several windows
    df = pipe.predict(text, output_level="token")
    assert len(df) == 150


def test_load_truth_literal_special_tokens_are_text(tiny_cased):
    """'[SEP]' typed in a note is text: it never becomes the control token (nor [PAD], which would be attended)."""
    pipe = tiny_cased
    ids = {pipe.encoder.tokenizer.convert_tokens_to_ids(t) for t in ("[CLS]", "[SEP]", "[PAD]", "[MASK]")}
    import numpy as np

    from nlu_lite.pipeline import _batching as batching

    text = "Chest [SEP] pain [PAD] [CLS] [MASK] [UNK]"
    wp = batching.tokenize_units(pipe.encoder.tokenizer, [text], np.array([0]), np.array([0]), np.array([len(text)]))
    assert not ids & set(wp.ids.tolist())
    df = pipe.predict(text, output_level="token", positions=True)
    assert df["token"].tolist()[:3] == ["Chest", "[", "SEP"]
