"""The provenance record: which model, revision, runtime, settings and library versions made a result.

Built once per prediction (``collect``); nothing here imports torch, transformers or spaCy: versions come from
``importlib.metadata``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .._version import __version__
from ..errors import InvalidInputError

FORMAT = "nlu_lite.provenance/1"
ATTRS_KEY = "nlu_lite"  # df.attrs key, Parquet key-value metadata key and Spark field metadata key
REQUIRED_FACTS = ("model", "hub_id", "revision", "source_kind", "family", "runtime", "device", "precision",
                  "compute", "window", "do_lower_case", "sentence_splitter", "column", "dim", "settings")
_DISTRIBUTIONS = {"torch": "torch", "transformers": "transformers", "tokenizers": "tokenizers", "spacy": "spacy",
                  "numpy": "numpy"}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _versions() -> dict[str, str | None]:
    """Installed versions (``None`` when a package is absent); nlu_lite's is the running code's own."""
    found: dict[str, str | None] = {"nlu_lite": __version__, "python": platform.python_version()}
    for name, dist in _DISTRIBUTIONS.items():
        try:
            found[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def collect(**facts: object) -> dict:
    """The provenance record of one prediction.

    Args:
        **facts: ``model`` (catalog name), ``hub_id``, ``revision`` (resolved: the commit hash where known, see
            ``resolved_revision``), ``source_kind`` (``folder``/``packaged``/``hf_cache``/``hub``), ``family``,
            ``runtime``, ``device``, ``precision``, ``compute`` (how that precision runs on this machine, with
            the runtime library's version, e.g. ``"openvino 2026.4.1 int8+bf16"``), ``window`` (effective
            wordpieces per sequence), ``do_lower_case``, ``sentence_splitter``, ``column`` (the vector column's
            name), ``dim`` (floats per output vector: the hidden size, times the layers concatenated, doubled by
            ``subword_pooling="first_last"``) and ``settings`` (every effective predict setting,
            ``dataclasses.asdict(settings)``); more facts are kept as given (e.g. ``requested_revision``).
            Values must be JSON values (``str(device)``, not a device).

    Returns:
        ``{"format": FORMAT, **facts, "versions": {nlu_lite, python, torch, transformers, tokenizers, spacy,
        numpy}}``, a new dict the caller may keep; equal inputs give equal records (no clock in it).
    """
    missing = [name for name in REQUIRED_FACTS if name not in facts]
    if missing:
        raise InvalidInputError(
            "E350", f"provenance.collect() lacks the facts {missing} (got {sorted(facts)}); pass all of "
                    f"{list(REQUIRED_FACTS)}, e.g. collect(..., settings=dataclasses.asdict(settings)).")
    if not isinstance(facts["settings"], Mapping):
        raise InvalidInputError("E351", f"provenance.collect(settings={facts['settings']!r}) must be a dict of "
                                "every effective setting: settings=dataclasses.asdict(settings).")
    record = {"format": FORMAT, **copy.deepcopy(facts), "versions": _versions()}
    try:
        json.dumps(record, allow_nan=False)
    except (TypeError, ValueError) as e:
        bad = {k: type(v).__name__ for k, v in facts.items() if not _is_json(v)}
        raise InvalidInputError(
            "E352", f"provenance.collect() got values that are not JSON ({bad}: {e}); pass plain values, "
                    "e.g. device=str(device), revision=str(revision).") from e
    return record


def _is_json(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def _digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


@lru_cache(maxsize=32)
def _content_revision(folder: str, stamp: tuple) -> str:
    """SHA-256 over the names and contents of the model files (memoised by their sizes and mtimes)."""
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode() + b"\0" + _digest(Path(folder) / name))
    return "sha256:" + digest.hexdigest()


def resolved_revision(folder: str | os.PathLike) -> str:
    """What exactly the model files in ``folder`` are: the hub commit hash, or a hash of their contents.

    A Hugging Face cache snapshot (``.../snapshots/<40-hex commit>``) is named by its commit, which is returned
    as is. Any other folder (``load(path=...)``, a packaged model, a ``pipe.save()`` bundle) gets
    ``"sha256:<hex>"`` of its config, tokenizer and weight files, so that a folder whose weights change in place
    gets another revision (and misses the vector cache) instead of reusing stale vectors. Hashing reads the files
    once per process (all-MiniLM-L6-v2, 92 MB: 0.4 s; later calls are free unless a file changes).
    """
    path = Path(folder).expanduser().resolve()
    unresolved = Path(folder).expanduser()
    if unresolved.parent.name == "snapshots" and _COMMIT.match(unresolved.name):
        return unresolved.name
    from ..models._sources import model_files

    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in model_files(path))
    return _content_revision(str(path), stamp)
