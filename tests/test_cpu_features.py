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
