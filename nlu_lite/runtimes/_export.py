"""Shared plumbing for runtimes that convert a model before they run it (OpenVINO today; ONNX Runtime or any
other exporter uses the same): where converted models live, one folder per model and recipe, written under a
temporary name and renamed, and the torch module to convert (every hidden state as an output).

``NLU_LITE_CACHE`` overrides the location; otherwise the platform's user cache folder is used
(``$XDG_CACHE_HOME/nlu_lite`` or ``~/.cache/nlu_lite`` on Linux, ``~/Library/Caches/nlu_lite`` on macOS,
``%LOCALAPPDATA%\\nlu_lite\\Cache`` on Windows). Nothing is written until a runtime needs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
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


def package_version(name: str) -> str:
    """The installed version of the distribution ``name`` (``"absent"`` when it is not installed)."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def converted_folder(runtime: str, folder: Path, scheme: str, recipe: Mapping) -> Path:
    """Where ``runtime`` keeps ``folder`` converted with ``scheme`` (it may not exist yet).

    The name hashes the model folder's files (name, size, modification time), the scheme and ``recipe`` (the
    format version and the versions of the libraries that convert), so any change converts again.
    """
    files = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(Path(folder).iterdir()) if p.is_file()]
    parts = {**recipe, "scheme": scheme, "files": files}
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return cache_root() / runtime / f"{Path(folder).name}-{scheme}-{key}"


def write_atomically(target: Path, write: Callable[[Path], None], marker: str) -> None:
    """Fill ``target`` (a folder) by ``write(staging)`` into a temporary sibling, then rename it into place.

    Concurrent processes never read a half-written folder; when another process finished the same folder first
    (its ``marker`` file is there), theirs is kept. Nothing is left behind on failure.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(staging)
        try:
            os.rename(staging, target)
        except OSError:  # another process finished the same conversion first: keep theirs
            if not (target / marker).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_torch_model(folder: Path, family: str | None):
    """The verified fp32 torch model in ``folder``, eval mode (the loader the torch runtime uses)."""
    from ..models._hf_model import load_model

    return load_model(folder, family)


def all_hidden_states(model):
    """``model`` wrapped to return the tuple of all its hidden states (a module torch can trace or export)."""
    import torch

    class AllHiddenStates(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return tuple(out.hidden_states)

    return AllHiddenStates(model).eval()
