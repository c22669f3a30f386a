"""Where nlu_lite keeps files it derives from models (converted runtimes): the user cache folder.

``NLU_LITE_CACHE`` overrides the location; otherwise the platform's user cache folder is used
(``$XDG_CACHE_HOME/nlu_lite`` or ``~/.cache/nlu_lite`` on Linux, ``~/Library/Caches/nlu_lite`` on macOS,
``%LOCALAPPDATA%\\nlu_lite\\Cache`` on Windows). Nothing is written until a runtime needs it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "NLU_LITE_CACHE"


def cache_root() -> Path:
    """The folder under which nlu_lite caches derived model files (not created here)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "nlu_lite" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "nlu_lite"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nlu_lite"
