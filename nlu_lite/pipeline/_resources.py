"""Process-level helpers around a prediction: progress bar, stage timer, returning freed memory."""

from __future__ import annotations

import ctypes
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

BAR_DELAY_S = 3.0
"""A prediction shows a progress bar only once it has run this long: never for one short text."""


def progress_bar(*, total: int | None, desc: str, enabled: bool):
    """tqdm.auto's bar (a widget in notebooks with ipywidgets), else the text bar, without tqdm's IProgress warning.

    It appears after ``BAR_DELAY_S`` seconds, and the text bar redraws at most every 2 s (in a notebook without
    ipywidgets each redraw is a line of stderr output).
    """
    from tqdm.notebook import IProgress  # None where ipywidgets is missing

    if IProgress is not None:
        from tqdm.auto import tqdm as bar
    else:
        from tqdm.std import tqdm as bar
    return bar(total=total, desc=desc, unit="doc", delay=BAR_DELAY_S, mininterval=2.0, disable=not enabled,
               leave=False)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS tells it, else every core)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def segment_processes(asked: int | str, device: str, rows: int | None, chunk_size: int) -> int:
    """How many processes segment beside the encoder: ``asked``, or for ``"auto"`` one per spare core (up to 4)
    when the model runs on a GPU (``device`` not the CPU) and the input is longer than one chunk (or of unknown
    length), so spaCy keeps the device fed; otherwise 0. On the CPU the runtime's own threads use the cores,
    and for one chunk there is nothing to overlap with (a process takes about 2 s to start)."""
    if asked != "auto":
        return int(asked)
    if device.startswith("cpu") or (rows is not None and rows <= chunk_size):
        return 0
    return max(0, min(4, usable_cores() - 1))


def default_threads() -> int | None:
    """CPU threads for a runtime when the caller gives none: all cores on a quiet machine, fewer on a busy one.

    ``None`` (the runtime's own default, all cores) while at least half the usable cores are idle by the 1-minute
    load average; otherwise the spare cores, at least 1. Measured with ``benchmarks/threads.py`` on a 2-core
    machine (all-MiniLM-L6-v2, sentence level): idle (load 1.3), 2 threads ran 1.87x faster than 1; busy
    (load 4.4, other processes computing), torch's default 2 threads ran 4x *slower* than 1 (31 s vs 7.8 s):
    its threads spin-wait for cores the others hold.
    """
    usable = usable_cores()
    try:
        spare = usable - os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): the runtime's default
        return None
    return None if spare >= usable / 2 else max(1, int(spare + 0.5))


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None on other C libraries."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def return_freed_memory() -> None:
    """Hand freed heap pages back to the OS after each chunk.

    glibc keeps the memory of freed tensors in its arenas; with batch shapes that change from chunk to chunk
    the process then grows without bound (measured: 182 MB working set for 1k notes, 1 GB for 100k). Trimming
    after each chunk keeps it flat (benchmarks/memory.py).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextmanager
def timed(stats: Counter, key: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        stats[key] += time.perf_counter() - start
