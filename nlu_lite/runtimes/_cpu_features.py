"""What the CPU can do natively, for choosing precisions (read once, no heavy imports).

Linux (x86 and ARM) reads ``/proc/cpuinfo``; macOS asks ``sysctl`` (Intel Macs: the CPUID feature words, named
as Linux names them; Apple Silicon: ``hw.optional.arm.FEAT_*``, e.g. ``bf16``); elsewhere (Windows) the flags are
unknown (``None``) and each runtime keeps its safe default.

``ONEDNN_MAX_CPU_ISA`` (oneDNN's limit, read by OpenVINO and torch, e.g. ``AVX2``) removes the flags above the
limit, so a limited process chooses as a CPU of that class would. ``cpu_class`` sorts a CPU into the classes the
runtimes' ``precision="fast"`` rules are written for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})  # 8-bit dot products (x86)
ISA_LIMIT = "ONEDNN_MAX_CPU_ISA"
CLASSES = {
    "amx": "AMX tiles (bf16 and int8 matrix products; Intel Sapphire Rapids and later)",
    "bf16": "AVX-512 BF16 without AMX (e.g. AMD Zen 4 and 5)",
    "vnni": "8-bit dot products (AVX-512 VNNI or AVX-VNNI) without native bf16",
    "avx2": "AVX2 without VNNI, AVX-512 BF16 or AMX (many cloud VMs and laptops)",
    "other": "none of these (older x86, ARM)",
    "unknown": "the platform does not say (Windows)",
}
_ABOVE_AVX2 = ("avx512", "amx", "avx_vnni")
# oneDNN's ISA names -> the flag prefixes a CPU limited to that ISA does not have (names not listed: no limit)
_LIMITS = {
    "sse41": _ABOVE_AVX2 + ("avx", "fma", "f16c"),
    "avx": _ABOVE_AVX2 + ("avx2", "fma", "f16c"),
    "avx2": _ABOVE_AVX2,
    "avx2_vnni": ("avx512", "amx"),
    "avx2_vnni_2": ("avx512", "amx"),
    "avx512_core": ("avx512_vnni", "avx512_bf16", "avx512_fp16", "amx", "avx_vnni"),
    "avx512_core_vnni": ("avx512_bf16", "avx512_fp16", "amx"),
    "avx512_core_bf16": ("avx512_fp16", "amx"),
    "avx512_core_fp16": ("amx",),
    "avx10_1_512": ("amx",),
}


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str] | None:
    """The CPU feature flags, lowercase as Linux names them, less those above ``ONEDNN_MAX_CPU_ISA``; None where
    this platform does not say."""
    if sys.platform == "darwin":
        return limited(_macos_flags(_sysctl))
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return limited(frozenset(value.split()))
    return None


def limited(flags: frozenset[str] | None, limit: str | None = None) -> frozenset[str] | None:
    """``flags`` less those above oneDNN's ISA ``limit`` (default: the ``ONEDNN_MAX_CPU_ISA`` variable)."""
    limit = os.environ.get(ISA_LIMIT, "") if limit is None else limit
    above = _LIMITS.get(limit.strip().lower(), ())
    return None if flags is None else frozenset(f for f in flags if not f.startswith(above))


def cpu_class(flags: frozenset[str] | None = None) -> str:
    """Which of ``CLASSES`` a CPU with these flags (default: this one) belongs to."""
    flags = cpu_flags() if flags is None else flags
    if flags is None:
        return "unknown"
    if has_amx(flags):
        return "amx"
    if has_native_bf16(flags):
        return "bf16"
    if flags & VNNI_FLAGS:
        return "vnni"
    return "avx2" if "avx2" in flags else "other"


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
