"""What the CPU can do natively, for choosing precisions (read once, no heavy imports)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str] | None:
    """The CPU feature flags of the first processor in ``/proc/cpuinfo``; None where that file is absent."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return None


def has_native_bf16(flags: frozenset[str] | None = None) -> bool | None:
    """True if the CPU computes in bf16 natively (AVX-512 BF16 or AMX), False if not, None if unknown."""
    flags = cpu_flags() if flags is None else flags
    return None if flags is None else bool(flags & NATIVE_BF16_FLAGS)


def has_amx(flags: frozenset[str] | None = None) -> bool:
    """True if the CPU has AMX tiles for bf16 matrix products (Intel Sapphire Rapids and later)."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags) and "amx_bf16" in flags
