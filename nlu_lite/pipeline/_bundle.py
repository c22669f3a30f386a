"""``pipe.save(folder)``: a bundle of model files and rebuild spec that ``load(path=folder)`` restores exactly."""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict
from pathlib import Path

from ..errors import InvalidOptionError
from ..models._sources import model_files
from ._spec import BUNDLE_FILE, Spec


def _check_links(source: Path, paths: list[Path]) -> None:
    """Refuse model files that are links leaving the model folder (a bundle must not copy ``/etc/passwd``).

    A Hugging Face cache snapshot links every file into its repository's ``blobs/``: those links stay inside.
    """
    roots = [source.resolve()]
    if source.parent.name == "snapshots":
        roots.append((source.parent.parent / "blobs").resolve())
    for path in paths:
        real = path.resolve()
        if path.is_symlink() and not any(real == root or root in real.parents for root in roots):
            raise InvalidOptionError("E445", f"'{path}' is a link to '{real}', outside the model folder '{source}'; "
                                     "a bundle copies only the model's own files. Replace the link with the file "
                                     "itself (cp --remove-destination) or remove it.")


def write_bundle(source: Path, spec: Spec, folder: str | os.PathLike) -> Path:
    """Copy the model files of ``source`` (configs, tokenizer files of any family, the weights in use, the
    sentence-transformers module folders) as they are into ``folder``, with ``spec`` as ``nlu_lite.json``."""
    target = Path(folder).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidOptionError("E044", f"'{target}' exists and is not empty (or is a file); pass a new or "
                                 "empty folder, e.g. pipe.save('bundles/my_model').")
    files = model_files(source)
    modules = sorted(p for p in source.iterdir() if p.is_dir() and (p / "config.json").is_file())
    _check_links(source, [*files, *modules, *(f for m in modules for f in m.rglob("*"))])
    try:
        target.mkdir(parents=True, exist_ok=True)
        for item in files:
            shutil.copy2(item, target / item.name)
        for sub in modules:
            shutil.copytree(sub, target / sub.name)  # sentence-transformers modules (1_Pooling/ ...)
        saved = Spec(**{**asdict(spec), "model_path": ".", "source_kind": "bundle", "cache": None})
        (target / BUNDLE_FILE).write_text(saved.to_json(), encoding="utf-8")
    except OSError as e:
        raise InvalidOptionError("E413", f"Could not write the bundle to '{target}': {e.strerror or e}. Pass a "
                                 "folder you can write to, on a disk with room for the model.") from e
    return target
