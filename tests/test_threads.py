"""The default thread count follows the machine's load (benchmarks/threads.py has the numbers)."""

from __future__ import annotations

import os

import pytest

from nlu_lite.pipeline import _resources as runtime


@pytest.mark.parametrize("cores,load,expected", [(2, 0.2, None), (2, 1.0, None), (2, 1.3, 1), (2, 4.4, 1),
                                                 (16, 4.0, None), (16, 10.0, 6), (16, 40.0, 1)])
def test_threads_default_uses_spare_cores(monkeypatch, cores, load, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert runtime.default_threads() == expected
