"""What machine a benchmark ran on: one description of the CPU for every benchmark's table and JSON."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from nlu_lite.runtimes import _cpu_features as cpu_features

SHOWN = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile")


def cpu() -> str:
    """The CPU's name, its logical CPUs, the class the runtimes choose by (``ONEDNN_MAX_CPU_ISA`` honoured) and the
    flags behind it, e.g. ``AMD EPYC, 2 logical CPUs, class bf16 (avx2 avx512f avx512_vnni avx512_bf16)``."""
    info = Path("/proc/cpuinfo")
    lines = info.read_text(encoding="utf-8").splitlines() if info.is_file() else []
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                platform.processor() or platform.machine())
    flags = cpu_features.cpu_flags() or frozenset()
    shown = " ".join(f for f in SHOWN if f in flags) or "none of AVX2+"
    return f"{name}, {os.cpu_count()} logical CPUs, class {cpu_features.cpu_class()} ({shown})"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``1.2 0.9 0.7``."""
    return " ".join(f"{v:.1f}" for v in os.getloadavg())
