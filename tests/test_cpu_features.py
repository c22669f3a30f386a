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


ZEN4 = frozenset({"avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"})
SAPPHIRE_RAPIDS = ZEN4 | {"amx_tile", "amx_bf16", "amx_int8", "avx_vnni"}


@pytest.mark.parametrize(("flags", "limit", "kind"), [
    (SAPPHIRE_RAPIDS, "", "amx"),
    (SAPPHIRE_RAPIDS, "AVX512_CORE_BF16", "bf16"),
    (SAPPHIRE_RAPIDS, "avx512_core_vnni", "vnni"),
    (SAPPHIRE_RAPIDS, "AVX2_VNNI", "vnni"),
    (SAPPHIRE_RAPIDS, "AVX2", "avx2"),
    (ZEN4, "", "bf16"),
    (ZEN4, "AVX512_CORE", "avx2"),  # AVX-512 without VNNI or bf16: the AVX2 rules apply
    (ZEN4, "AVX2", "avx2"),
    (ZEN4, "SSE41", "other"),
    (ZEN4, "ALL", "bf16"),
    (frozenset({"fp", "asimd", "bf16", "i8mm"}), "", "other"),  # ARM
])
def test_cpu_features_class_follows_the_onednn_isa_limit(flags, limit, kind):
    assert cpu_features.cpu_class(cpu_features.limited(flags, limit)) == kind
    assert cpu_features.cpu_class(None if kind == "unknown" else cpu_features.limited(flags, limit)) in \
        cpu_features.CLASSES


def test_cpu_features_reads_the_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    cpu_features.cpu_flags.cache_clear()
    try:
        flags = cpu_features.cpu_flags()
        if flags is None:
            pytest.skip("no CPU flags on this platform")
        assert not any(f.startswith(("avx512", "amx", "avx_vnni")) for f in flags)
        assert cpu_features.cpu_class() in ("avx2", "other") and cpu_features.has_native_bf16() is False
    finally:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
        cpu_features.cpu_flags.cache_clear()
    assert cpu_features.cpu_class() == cpu_features.cpu_class(cpu_features.cpu_flags())


@pytest.mark.parametrize(("native", "advice"), [(True, "precision='bf16'"), (False, "precision='fp32'")])
def test_cpu_features_torch_errors_suggest_what_fast_runs_here(tiny_cased_dir, monkeypatch, native, advice):
    import nlu_lite
    from nlu_lite.errors import InvalidOptionError
    from nlu_lite.runtimes import _torch

    monkeypatch.setattr(_torch, "cpu_has_bf16", lambda: native)
    with pytest.raises(InvalidOptionError, match=r"\[E013\]") as fp16:
        nlu_lite.load(path=tiny_cased_dir, precision="fp16", device="cpu")
    assert advice in str(fp16.value) and "int8" not in str(fp16.value)
    if not native:
        with pytest.raises(InvalidOptionError, match=r"\[E407\]") as bf16:
            nlu_lite.load(path=tiny_cased_dir, precision="bf16", device="cpu")
        assert "precision='fp32'" in str(bf16.value) and "int8" not in str(bf16.value)


@pytest.mark.parametrize(("flags", "openvino_hint"), [(ZEN4 - {"avx512_bf16"}, True), (frozenset({"avx2"}), False)])
def test_cpu_features_torch_fast_names_openvino_only_where_its_int8_is_faster(monkeypatch, flags, openvino_hint):
    import torch

    from nlu_lite.runtimes import _torch

    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: flags)
    precision, why = _torch.fast_choice(torch.device("cpu"))
    assert precision == "fp32" and ("runtime='openvino'" in why) is openvino_hint


@pytest.mark.parametrize("precision", ["fast", "fp32"])
def test_cpu_features_fast_logs_one_info_line_saying_what_it_chose(tiny_cased_dir, caplog, precision):
    import logging

    from nlu_lite.runtimes import open_runtime

    with caplog.at_level(logging.INFO, logger="nlu_lite"):
        runtime = open_runtime("torch", tiny_cased_dir, device="cpu", precision=precision)
    lines = [r.getMessage() for r in caplog.records if r.name == "nlu_lite" and "precision='fast'" in r.getMessage()]
    if precision == "fp32":
        assert lines == []
        return
    assert lines == [f"precision='fast' with runtime='torch' on cpu runs {runtime.precision} ({runtime.compute}): "
                     f"{runtime.chosen}"]
    assert runtime.chosen.startswith(f"fast: {runtime.precision}")
