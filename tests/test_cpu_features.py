"""CPU feature flags for precision choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu_lite.runtimes import _cpu_features as cpu_features


@pytest.mark.parametrize(("flags", "native"), [
    ({"avx512f", "avx512_bf16"}, True),
    ({"amx_bf16", "amx_tile"}, True),
    ({"avx2", "avx512f", "avx512_vnni"}, False),
])
def test_cpu_features_native_bf16_from_flags(flags, native):
    assert cpu_features.has_native_bf16(frozenset(flags)) is native


def test_cpu_features_reads_this_machine():
    flags = cpu_features.cpu_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo on this platform")
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    assert ("avx512_bf16" in text.split()) == ("avx512_bf16" in flags)
    assert cpu_features.has_native_bf16() == bool({"avx512_bf16", "amx_bf16"} & set(text.split()))


@pytest.mark.parametrize(("flags", "precision", "reason"), [
    ({"amx_tile", "amx_bf16", "avx512_bf16", "avx512_vnni"}, "bf16", "AMX"),
    ({"avx512_vnni", "avx512_bf16"}, "int8", "VNNI"),
    ({"avx2", "fma"}, "fp32", "neither AMX nor VNNI"),
])
def test_cpu_features_openvino_fast_says_what_it_chose_and_why(flags, precision, reason):
    pytest.importorskip("openvino", reason="pip install 'nlu-lite[openvino]'")
    from nlu_lite.runtimes import _openvino

    chosen, why = _openvino.fast_choice(frozenset(flags))
    assert chosen == precision == _openvino.fast_precision(frozenset(flags))
    assert why.startswith(f"fast: {precision}") and reason in why


@pytest.mark.parametrize(("native", "precision"), [(True, "bf16"), (False, "fp32")])
def test_cpu_features_torch_fast_says_what_it_chose(tiny_cased_dir, monkeypatch, native, precision):
    import nlu_lite
    from nlu_lite.runtimes import _torch

    monkeypatch.setattr(_torch, "cpu_has_bf16", lambda: native)
    pipe = nlu_lite.load(path=tiny_cased_dir, precision="fast", device="cpu")
    assert pipe.encoder.runtime.precision == precision
    assert f"precision={precision} (fast: {precision}" in repr(pipe)
    assert nlu_lite.provenance(pipe.predict("Chest pain.", output_level="document"))["chosen"].startswith("fast:")
    explicit = nlu_lite.load(path=tiny_cased_dir, precision="fp32", device="cpu")
    assert "(fast:" not in repr(explicit) and explicit.encoder.runtime.chosen == ""


@pytest.mark.parametrize(("answers", "expected"), [
    ({"machdep.cpu.features": "FPU SSE AVX1.0 FMA", "machdep.cpu.leaf7_features": "AVX2 AVX512F AVX512VNNI"},
     {"avx512_vnni", "avx2", "avx1_0", "fma"}),
    ({"hw.optional.arm": "hw.optional.arm.FEAT_BF16: 1\nhw.optional.arm.FEAT_I8MM: 1\nhw.optional.arm.FEAT_SME: 0"},
     {"bf16", "i8mm"}),
    ({}, None),
])
def test_cpu_features_macos_from_sysctl(answers, expected):
    def sysctl(*args):
        names = [a for a in args if a != "-n"]
        return "\n".join(answers.get(n, "") for n in names if n in answers) if "-n" in args else answers.get(
            names[0], "")

    flags = cpu_features._macos_flags(sysctl)
    assert (flags is None and expected is None) or expected <= flags
    if expected and "avx512_vnni" in expected:
        assert cpu_features.has_native_bf16(flags) is False and not cpu_features.has_amx(flags)


def test_cpu_features_unknown_platform_is_none(monkeypatch):
    monkeypatch.setattr(cpu_features.sys, "platform", "win32")
    monkeypatch.setattr(cpu_features.Path, "read_text", lambda *a, **k: (_ for _ in ()).throw(OSError("absent")))
    cpu_features.cpu_flags.cache_clear()
    try:
        assert cpu_features.cpu_flags() is None and cpu_features.has_native_bf16() is None
    finally:
        cpu_features.cpu_flags.cache_clear()
