"""``pipe.save(folder)``: a bundle of model files and rebuild spec that ``load(path=folder)`` restores exactly;
``group.save(folder)``: one bundle per model and a manifest listing them (``write_group``, ``read_group``)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from ..errors import InvalidOptionError, ModelLoadError
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


def _new_folder(folder: str | os.PathLike) -> Path:
    """``folder`` as a path, refused unless it is new or empty (a bundle never mixes with other files)."""
    target = Path(folder).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidOptionError("E044", f"'{target}' exists and is not empty (or is a file); pass a new or "
                                 "empty folder, e.g. pipe.save('bundles/my_model').")
    return target


def write_bundle(source: Path, spec: Spec, folder: str | os.PathLike) -> Path:
    """Copy the model files of ``source`` (configs, tokenizer files of any family, the weights in use, the
    sentence-transformers module folders) as they are into ``folder``, with ``spec`` as ``nlu_lite.json``."""
    target = _new_folder(folder)
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


GROUP_FILE = "nlu_lite_group.json"  # a group bundle's manifest: the models' bundle folders, in order
GROUP_FORMAT = "nlu_lite.group"


def write_group(pipes: list, folder: str | os.PathLike) -> Path:
    """Several models' bundles in one folder: each model's ``save()`` bundle in a subfolder named by its vector
    column, and ``nlu_lite_group.json`` listing them in order, written last (a folder without it is no group)."""
    target = _new_folder(folder)
    names = [pipe.column_name for pipe in pipes]
    for pipe, name in zip(pipes, names):
        write_bundle(pipe.source.folder, pipe.spec(), target / name)
    manifest = {"format": GROUP_FORMAT, "version": 1, "models": names}
    try:
        (target / GROUP_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    except OSError as e:
        raise InvalidOptionError("E459", f"Could not write the group manifest '{target / GROUP_FILE}': "
                                 f"{e.strerror or e}. Pass a folder you can write to.") from e
    return target


def read_group(folder: Path) -> list[Path] | None:
    """The bundle folders a group bundle lists, in order; ``None`` when ``folder`` is not a group bundle."""
    file = folder / GROUP_FILE
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelLoadError("E456", f"The group bundle file '{file}' is not UTF-8 JSON ({e}); write the bundle "
                             "again with group.save(folder).") from e
    names = manifest.get("models") if isinstance(manifest, dict) else None
    if (not isinstance(manifest, dict) or manifest.get("format") != GROUP_FORMAT or manifest.get("version") != 1
            or not isinstance(names, list) or len(names) < 2
            or not all(isinstance(n, str) and n and Path(n).name == n and n not in (".", "..") for n in names)):
        raise ModelLoadError("E457", f"The group bundle file '{file}' is not a valid manifest of this nlu_lite "
                             f"version (expected format {GROUP_FORMAT!r}, version 1 and 'models': two or more "
                             "subfolder names); write the bundle again with group.save(folder).")
    missing = [n for n in names if not (folder / n / BUNDLE_FILE).is_file()]
    if missing:
        raise ModelLoadError("E458", f"The group bundle '{folder}' lists models {missing} whose bundle folders "
                             f"(with {BUNDLE_FILE}) are missing; copy the whole folder, or write it again with "
                             "group.save(folder).")
    return [folder / n for n in names]
