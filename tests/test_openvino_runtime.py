"""The OpenVINO runtime: equal to torch in fp32, cached conversion, options, and no telemetry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from openvino_helpers import padded, requires_openvino, token_and_sentence_cosines, torch_hidden_states

from nlu_lite.errors import InvalidOptionError
from nlu_lite.runtimes import _cpu_features as cpu_features
from nlu_lite.runtimes import open_runtime

pytestmark = requires_openvino
ROOT = Path(__file__).resolve().parents[1]
SEQUENCES = [[2, 5, 6, 7, 3], [2, 8, 9, 10, 11, 12, 13, 14, 3], [2, 15, 3]]


@pytest.fixture(scope="module", autouse=True)
def ov_cache(tmp_path_factory):
    """Every test of this module converts into a temporary cache, never the user's."""
    folder = tmp_path_factory.mktemp("nlu_lite_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NLU_LITE_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def tiny_fp32(tiny_cased_dir):
    return open_runtime("openvino", tiny_cased_dir, precision="fp32", threads=1)


@pytest.mark.parametrize("layers", [(-1,), (0, 1, 2), (-2, -1)])
def test_openvino_runtime_fp32_equals_torch_hidden_states(tiny_cased_dir, tiny_fp32, layers):
    ids, mask = padded(SEQUENCES)
    got = tiny_fp32.forward(ids, mask, layers=layers)
    ref = torch_hidden_states(tiny_cased_dir, ids, mask)[list(layers)]
    assert got.shape == (len(layers), 3, 9, 32) and got.dtype == np.float32
    real = mask.astype(bool)
    np.testing.assert_allclose(got[:, real], ref[:, real], atol=2e-5, rtol=1e-4)


def test_openvino_runtime_reports_protocol_fields(tiny_fp32):
    assert (tiny_fp32.name, tiny_fp32.device, tiny_fp32.precision, tiny_fp32.threads) == ("openvino", "cpu",
                                                                                          "fp32", 1)
    assert (tiny_fp32.dim, tiny_fp32.num_layers) == (32, 2)


def test_openvino_runtime_batch_rows_do_not_depend_on_padding(tiny_fp32):
    ids, mask = padded(SEQUENCES)
    together = tiny_fp32.forward(ids, mask)[0]
    for row, seq in enumerate(SEQUENCES):
        alone = tiny_fp32.forward(*padded([seq]))[0, 0]
        np.testing.assert_allclose(together[row, :len(seq)], alone, atol=1e-5)


def test_openvino_runtime_second_load_reads_the_cache(tiny_cased_dir, tiny_fp32, monkeypatch):
    from nlu_lite.runtimes import _openvino_export as openvino_export

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again although the cache holds the model")

    monkeypatch.setattr(openvino_export, "_build", no_conversion)
    again = open_runtime("openvino", tiny_cased_dir, precision="fp32", threads=1)
    assert again.cache_folder == tiny_fp32.cache_folder and (again.cache_folder / "model.xml").is_file()
    meta = json.loads((again.cache_folder / "nlu_lite_openvino.json").read_text("utf-8"))
    assert meta["scheme"] == "fp32" and "openvino" in meta["versions"]
    ids, mask = padded(SEQUENCES)
    np.testing.assert_array_equal(again.forward(ids, mask), tiny_fp32.forward(ids, mask))


def test_openvino_runtime_cache_key_follows_weights_and_scheme(tiny_cased_dir, tmp_path):
    import shutil

    from nlu_lite.runtimes._openvino_export import cache_folder

    copy = Path(shutil.copytree(tiny_cased_dir, tmp_path / tiny_cased_dir.name))
    before = cache_folder(copy, "fp32")
    assert cache_folder(copy, "int8_asym") != before
    weights = copy / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000_000))
    assert cache_folder(copy, "fp32") != before


def test_openvino_runtime_int8_close_to_fp32_on_tiny_model(tiny_cased_dir):
    int8 = open_runtime("openvino", tiny_cased_dir, precision="int8", threads=1)
    assert int8.precision == "int8" and "int8_asym" in int8.cache_folder.name
    ids, mask = padded(SEQUENCES)
    tokens, _ = token_and_sentence_cosines(int8.forward(ids, mask)[0], torch_hidden_states(tiny_cased_dir, ids,
                                                                                          mask)[-1], mask)
    assert tokens.mean() > 0.99


@pytest.mark.parametrize(("flags", "recipe"), [
    ({"avx512f", "avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni"}, "int8+bf16"),  # Sapphire Rapids (measured)
    ({"avx512f", "avx512_bf16", "avx512_vnni"}, "int8+dynamic_int8"),  # Zen 4 (issue 15)
    ({"avx2", "fma"}, "int8+fp32"),  # AVX2 only: no 8-bit dot products, the weights are decompressed
])
def test_openvino_runtime_int8_recipe_follows_the_cpu(tiny_cased_dir, monkeypatch, flags, recipe):
    from importlib.metadata import version

    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: frozenset(flags))
    int8 = open_runtime("openvino", tiny_cased_dir, precision="int8", threads=1)
    assert int8.precision == "int8" and int8.compute == f"openvino {version('openvino')} {recipe}"
    ids, mask = padded(SEQUENCES)
    tokens, _ = token_and_sentence_cosines(int8.forward(ids, mask)[0], torch_hidden_states(tiny_cased_dir, ids,
                                                                                          mask)[-1], mask)
    assert tokens.mean() > 0.99


@pytest.mark.parametrize(("options", "code"), [
    ({"device": "cuda"}, "E303"),
    ({"threads": 0}, "E304"),
    ({"threads": True}, "E304"),
    ({"precision": "fp16"}, "E305"),
])
def test_openvino_runtime_rejects_bad_options(tiny_cased_dir, options, code):
    with pytest.raises(InvalidOptionError, match=rf"\[{code}\]"):
        open_runtime("openvino", tiny_cased_dir, **options)


@pytest.mark.parametrize("layer", [3, -4, "last"])
def test_openvino_runtime_rejects_layers_outside_the_model(tiny_fp32, layer):
    with pytest.raises(InvalidOptionError, match=r"\[E302\].*hidden states 0 \(embeddings\) to 2"):
        tiny_fp32.forward(*padded(SEQUENCES), layers=(layer,))


def test_openvino_runtime_bf16_refused_without_native_bf16(tiny_cased_dir, monkeypatch):
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_vnni"}))
    with pytest.raises(InvalidOptionError, match=r"\[E306\].*precision='int8'"):
        open_runtime("openvino", tiny_cased_dir, precision="bf16")


def test_openvino_runtime_errors_suggest_only_a_precision_faster_on_this_cpu(tiny_cased_dir, monkeypatch):
    """On an AVX2-only CPU int8 is not faster (docs/cpu_recipes.md): the advice is fp32, as ``fast`` chooses."""
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    with pytest.raises(InvalidOptionError, match=r"\[E306\]") as refused:
        open_runtime("openvino", tiny_cased_dir, precision="bf16")
    assert "precision='int8'" not in str(refused.value) and "Use precision='fp32'" in str(refused.value)
    with pytest.raises(InvalidOptionError, match=r"\[E305\]") as unknown:
        open_runtime("openvino", tiny_cased_dir, precision="fp16")
    assert "e.g. precision='int8'" not in str(unknown.value) and "(fp32 here)" in str(unknown.value)


_LIMITED = """
import sys, numpy as np
from nlu_lite.runtimes import open_runtime
ids, mask = (np.load(sys.argv[2] + "/" + name) for name in ("ids.npy", "mask.npy"))
for precision in ("int8", "fast"):
    runtime = open_runtime("openvino", sys.argv[1], precision=precision, threads=1)
    np.save(f"{sys.argv[2]}/{precision}.npy", runtime.forward(ids, mask)[0])
    print(precision, runtime.precision, runtime.compute.split()[-1], runtime.chosen, sep="|")
"""


def test_openvino_runtime_int8_on_a_cpu_limited_to_avx2(tiny_cased_dir, tmp_path):
    """ONEDNN_MAX_CPU_ISA=AVX2 (an AVX2-only CPU, emulated): int8 decompresses its weights instead of the
    dynamic int8 activations that OpenVINO 2026.4 answered with empty outputs there (seen on all-MiniLM-L6-v2; the
    tiny model's layers are narrower than a quantization group), and ``fast`` is fp32."""
    ids, mask = padded(SEQUENCES)
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "mask.npy", mask)
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _LIMITED, str(tiny_cased_dir), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    reference = torch_hidden_states(tiny_cased_dir, ids, mask)[-1]
    for precision, bar in (("int8", 0.998), ("fast", 0.99999)):
        got = np.load(tmp_path / f"{precision}.npy")
        assert got.shape == reference.shape, precision
        tokens, _ = token_and_sentence_cosines(got, reference, mask)
        assert tokens.mean() > bar, precision
    int8, fast = (line.split("|") for line in done.stdout.strip().splitlines()[-2:])
    assert int8[1:3] == ["int8", "int8+fp32"]
    assert fast[1:3] == ["fp32", "fp32"] and "AVX2" in fast[3]


@pytest.mark.parametrize(("flags", "expected"), [
    ({"avx512f", "avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni"}, "bf16"),  # Sapphire Rapids (measured)
    ({"avx512f", "avx512_bf16", "avx512_vnni"}, "int8"),  # Zen 4 (measured, issue 15)
    ({"avx2", "avx_vnni"}, "int8"),
    ({"avx2", "fma"}, "fp32"),  # measured with the ISA limited to AVX2: no int8 recipe reached the bar
    ({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}, "int8"),
])
def test_openvino_runtime_fast_precision_by_cpu(flags, expected):
    from nlu_lite.runtimes._openvino import fast_precision

    assert fast_precision(frozenset(flags)) == expected


_PRIVATE_RUN = """
import socket, sys
def refuse(*args, **kwargs):  # telemetry sends from a forked process: record attempts in a file
    with open(sys.argv[3], "a", encoding="utf-8") as log:
        log.write(repr(args) + "\\n")
    raise OSError("network connection refused by the test")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = refuse
if sys.argv[2] == "telemetry-imported-first":
    import openvino_telemetry  # another library got there first
import numpy as np
from nlu_lite.runtimes import open_runtime
for precision in ("fp32", "int8"):
    runtime = open_runtime("openvino", sys.argv[1], precision=precision, threads=1)
    runtime.forward(np.array([[2, 5, 6, 3]]), np.ones((1, 4), dtype=np.int64))
"""


@pytest.mark.slow
@pytest.mark.parametrize("situation", ["fresh", "telemetry-imported-first"])
def test_openvino_runtime_writes_only_its_cache_and_opens_no_connection(tiny_cased_dir, tmp_path, situation):
    home, cache, attempts = tmp_path / "home", tmp_path / "cache", tmp_path / "connections.log"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XDG_", "HF_", "NLU_LITE"))}
    env.update(HOME=str(home), NLU_LITE_CACHE=str(cache), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", _PRIVATE_RUN, str(tiny_cased_dir), situation, str(attempts)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not attempts.exists(), attempts.read_text("utf-8")
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []
    assert (cache / "openvino").is_dir()


def test_openvino_runtime_refuses_what_it_cannot_convert_with_the_fix(tmp_path):
    # Longformer's sliding-window attention has no OpenVINO conversion: a clear error naming runtime='torch'
    from families import build

    from nlu_lite.errors import ModelLoadError

    folder = build("longformer", tmp_path / "longformer")
    with pytest.raises(ModelLoadError, match=r"\[E301\] OpenVINO could not convert LongformerModel.*runtime='torch'") \
            as info:
        open_runtime("openvino", folder, precision="fp32", threads=1)
    assert "\n" not in str(info.value)  # one line, as every error the CLI prints
    assert not any((Path(os.environ["NLU_LITE_CACHE"]) / "openvino").glob("longformer-*"))  # nothing half-written
