"""``nlu-lite cache info|clear PATH``: a cache file looked at or emptied by path."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CacheError
from ._store import VectorCache


def _existing(path: str | os.PathLike) -> Path:
    target = Path(path).expanduser()
    if not target.is_file():
        raise CacheError("E368", f"There is no vector cache at '{target}'; give the file passed as "
                         "nlu_lite.load(..., cache=PATH), e.g. `nlu-lite cache info vectors.sqlite`.")
    return target


def cache_info(path: str | os.PathLike) -> dict:
    """``info()`` of the cache file at ``path`` (for ``nlu-lite cache info PATH``); it must exist. Without
    ``stats``: they count a handle's reads and writes, and this handle is new."""
    with VectorCache(_existing(path)) as store:
        return {key: value for key, value in store.info().items() if key != "stats"}


def cache_clear(path: str | os.PathLike) -> dict:
    """Empty the cache file at ``path`` (for ``nlu-lite cache clear PATH``); returns what was removed."""
    with VectorCache(_existing(path)) as store:
        return store.clear()
