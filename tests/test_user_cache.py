"""The user cache folder: overridable, per platform, created by nobody but its users."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nlu_lite.runtimes import _export as user_cache


def test_user_cache_env_var_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("NLU_LITE_CACHE", str(tmp_path / "mine"))
    assert user_cache.cache_root() == tmp_path / "mine"
    assert not (tmp_path / "mine").exists()


@pytest.mark.parametrize("xdg", [None, "/var/tmp/xdg"])
def test_user_cache_follows_xdg_on_linux(monkeypatch, xdg):
    monkeypatch.delenv("NLU_LITE_CACHE", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        assert user_cache.cache_root() == Path.home() / ".cache" / "nlu_lite"
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert user_cache.cache_root() == Path(xdg) / "nlu_lite"
