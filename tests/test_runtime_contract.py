"""One contract for every registered runtime (nlu_lite's own, and the test-registered ``delegate``): the registry
entry, the forward against Hugging Face hidden states, the pipeline against the torch runtime, bundles, the CLI.
A runtime registered from outside, by an entry point, is found and runs (checked in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
import torch
from openvino_helpers import padded
from reference import hf_model
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite import runtimes
from nlu_lite.errors import NluLiteError

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Patient denies chest pain. BP 120/80, HR 72.", None, "Takes aspirin daily.\n\nNo fever. No cough."]


@pytest.fixture(scope="module", autouse=True)
def converted_models_in_a_temporary_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NLU_LITE_CACHE", str(tmp_path_factory.mktemp("nlu_lite_cache")))
        yield


def available(name: str) -> runtimes.RuntimeInfo:
    """The registry entry of ``name``, or a skip naming the install line when its packages are missing."""
    info = runtimes.get(name)
    try:
        import_module(info.module)
    except ImportError as e:
        pytest.skip(f"runtime {name!r} is not installed ({e}): {info.install_hint()}")
    if name == "openvino":
        from importlib.util import find_spec

        if find_spec("openvino") is None or find_spec("nncf") is None:
            pytest.skip(f"runtime 'openvino' is not installed: {info.install_hint()}")
    return info


@pytest.fixture(scope="module")
def torch_reference(tiny_cased_dir):
    return nlu_lite.load(path=tiny_cased_dir, runtime="torch")


def test_runtime_contract_registry_lists_the_builtin_and_the_registered_runtimes():
    assert runtimes.names()[:2] == ("torch", "openvino") and "delegate" in runtimes.names()
    assert runtimes.get("openvino").install_hint() == 'pip install "nlu-lite[openvino]"'
    assert set(runtimes.precisions()) == {p for n in runtimes.names() for p in runtimes.get(n).precisions}


@pytest.mark.parametrize("name", ["", "Torch", "has space", "1st", None, 3])
def test_runtime_contract_bad_names_are_refused(name):
    with pytest.raises(NluLiteError, match="E063" if isinstance(name, str) else "E063"):
        runtimes.get(name)
    if isinstance(name, str):
        with pytest.raises(NluLiteError, match="E066"):
            runtimes.register(runtimes.RuntimeInfo(name, "x", ("fp32",)))


@pytest.mark.parametrize("name", runtimes.names())
def test_runtime_contract_forward_equals_hugging_face_hidden_states(tiny_cased_dir, name):
    available(name)
    runtime = runtimes.open_runtime(name, tiny_cased_dir, family="bert", precision="fp32", threads=1)
    assert runtime.name == name and runtime.precision == "fp32" and runtime.dim == 32 and runtime.num_layers == 2
    assert isinstance(runtime.compute, str) and runtime.compute and isinstance(runtime.device, str)
    ids, mask = padded([[2, 10, 11, 12, 3], [2, 13, 3]])
    states = runtime.forward(ids, mask, layers=(0, -1))
    assert states.shape == (2, 2, 5, 32) and states.dtype == np.float32
    with torch.inference_mode():
        out = hf_model(str(tiny_cased_dir))(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                            output_hidden_states=True)
    for k, layer in enumerate((0, -1)):
        real = mask.astype(bool)
        np.testing.assert_allclose(states[k][real], out.hidden_states[layer].numpy()[real], atol=1e-4)


@pytest.mark.parametrize("level", TEXT_LEVELS)
@pytest.mark.parametrize("name", runtimes.names())
def test_runtime_contract_pipeline_equals_the_torch_runtime(tiny_cased_dir, torch_reference, name, level):
    available(name)
    pipe = nlu_lite.load(path=tiny_cased_dir, runtime=name, threads=1)
    ours, reference = pipe.predict(TEXTS, output_level=level), torch_reference.predict(TEXTS, output_level=level)
    assert ours.drop(columns=pipe.column_name).equals(reference.drop(columns=pipe.column_name))
    np.testing.assert_allclose(nlu_lite.to_numpy(ours), nlu_lite.to_numpy(reference), atol=1e-4)
    record = nlu_lite.provenance(ours)
    assert record["runtime"] == name and record["compute"] == pipe.encoder.runtime.compute


@pytest.mark.parametrize("name", runtimes.names())
def test_runtime_contract_bundle_restores_the_runtime(tiny_cased_dir, tmp_path, name):
    available(name)
    pipe = nlu_lite.load(path=tiny_cased_dir, runtime=name, threads=1)
    again = nlu_lite.load(path=pipe.save(tmp_path / "bundle"))
    assert again.encoder.runtime.name == name
    np.testing.assert_array_equal(again.embed(["Chest pain."]), pipe.embed(["Chest pain."]))


@pytest.mark.parametrize("name", runtimes.names())
def test_runtime_contract_every_listed_precision_opens_or_says_why(tiny_cased_dir, name):
    info = available(name)
    for precision in info.precisions:
        try:
            runtime = runtimes.open_runtime(name, tiny_cased_dir, family="bert", precision=precision, threads=1)
        except NluLiteError as e:  # e.g. bf16 without native bf16, fp16 without CUDA: our error, with the fix
            assert precision in str(e)
            continue
        assert runtime.precision in info.precisions and runtime.precision != "fast"  # "fast" says what it chose


@pytest.mark.parametrize("name", runtimes.names())
def test_runtime_contract_the_cli_offers_every_registered_runtime(name, capsys):
    from nlu_lite.cli import main

    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert name in text and runtimes.get(name).description in text


def test_runtime_contract_runtime_from_another_package_by_entry_point(tiny_cased_dir, tmp_path):
    """A package that declares a ``nlu_lite.runtimes`` entry point adds a runtime without touching nlu_lite."""
    site = tmp_path / "site"
    (site / "nlu_echo_runtime-0.1.dist-info").mkdir(parents=True)
    (site / "nlu_echo_runtime-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nlu-echo-runtime\nVersion: 0.1\n", encoding="utf-8")
    (site / "nlu_echo_runtime-0.1.dist-info" / "entry_points.txt").write_text(
        "[nlu_lite.runtimes]\necho = nlu_echo_runtime:RUNTIME\n", encoding="utf-8")
    (site / "nlu_echo_runtime.py").write_text(textwrap.dedent("""
        from nlu_lite.runtimes import RuntimeInfo
        from nlu_lite.runtimes import _torch

        RUNTIME = RuntimeInfo("echo", __name__, ("fp32",), description="torch under another name")

        class Echo:
            name = "echo"
            def __init__(self, inner):
                self.inner = inner
                self.device, self.precision, self.threads = inner.device, inner.precision, inner.threads
                self.dim, self.num_layers, self.compute = inner.dim, inner.num_layers, "echo " + inner.compute
            def forward(self, ids, mask, layers=(-1,)):
                return self.inner.forward(ids, mask, layers)

        def open_runtime(folder, *, family=None, device="auto", precision=None, threads=None):
            return Echo(_torch.open_runtime(folder, family=family, device=device, precision=precision,
                                            threads=threads))
    """), encoding="utf-8")
    code = textwrap.dedent(f"""
        import json, numpy as np, nlu_lite
        from nlu_lite import runtimes
        echo = nlu_lite.load(path={str(tiny_cased_dir)!r}, runtime="echo", threads=1)
        plain = nlu_lite.load(path={str(tiny_cased_dir)!r}, runtime="torch", threads=1)
        texts = ["Chest pain. No fever.", "Aspirin daily."]
        same = bool(np.array_equal(echo.embed(texts), plain.embed(texts)))
        print(json.dumps([list(runtimes.names()), echo.encoder.runtime.compute.split()[0], same]))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    found, compute, same = json.loads(out.stdout.splitlines()[-1])
    assert found[:2] == ["torch", "openvino"] and "echo" in found
    assert compute == "echo" and same
