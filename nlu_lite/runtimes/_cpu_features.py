"""What the CPU can do natively, for choosing precisions (read once, no heavy imports).

Linux (x86 and ARM) reads ``/proc/cpuinfo``; macOS asks ``sysctl`` (Intel Macs: the CPUID feature words, named
as Linux names them; Apple Silicon: ``hw.optional.arm.FEAT_*``, e.g. ``bf16``); elsewhere (Windows) the flags are
unknown (``None``) and each runtime keeps its safe default.
"""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str] | None:
    """The CPU feature flags, lowercase as Linux names them; None where this platform does not say."""
    if sys.platform == "darwin":
        return _macos_flags(_sysctl)
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return None


def _sysctl(*args: str) -> str:
    """The output of ``sysctl args`` (macOS); empty when it fails."""
    try:
        return subprocess.run(["sysctl", *args], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


_MAC_NAMES = {"avx512vnni": "avx512_vnni", "avx512bf16": "avx512_bf16", "amxbf16": "amx_bf16",
              "amxtile": "amx_tile", "avxvnni": "avx_vnni"}


def _macos_flags(sysctl) -> frozenset[str] | None:
    """Flags of a Mac: Intel's CPUID words (``AVX512BW`` -> ``avx512bw``, ``AVX512VNNI`` -> ``avx512_vnni``), or
    Apple Silicon's ``hw.optional.arm.FEAT_BF16: 1`` -> ``bf16``."""
    words = sysctl("-n", "machdep.cpu.features", "machdep.cpu.leaf7_features").split()
    if words:
        return frozenset(_MAC_NAMES.get(w.lower().replace(".", "_"), w.lower().replace(".", "_")) for w in words)
    found = {line.split(":")[0].rsplit(".", 1)[-1].removeprefix("FEAT_").lower()
             for line in sysctl("hw.optional.arm").splitlines() if line.strip().endswith(": 1")}
    return frozenset(found) or None


def has_native_bf16(flags: frozenset[str] | None = None) -> bool | None:
    """True if the CPU computes in bf16 natively (AVX-512 BF16 or AMX), False if not, None if unknown."""
    flags = cpu_flags() if flags is None else flags
    return None if flags is None else bool(flags & NATIVE_BF16_FLAGS)


def has_amx(flags: frozenset[str] | None = None) -> bool:
    """True if the CPU has AMX tiles for bf16 matrix products (Intel Sapphire Rapids and later)."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags) and "amx_bf16" in flags
