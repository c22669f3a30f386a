"""``load()``: a name or folder to a ready ``Pipeline``, and the folder bundles ``Pipeline.save`` writes."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import model_catalog, sources
from .encoder import Encoder
from .errors import InvalidOptionError, ModelLoadError
from .model_catalog import CatalogEntry
from .pipeline import BUNDLE_FILE, SENTENCE_SPLITTERS, Pipeline
from .settings import Settings


@contextmanager
def _quiet_tqdm_import() -> Iterator[None]:
    """transformers and huggingface_hub import tqdm.auto, which warns in notebooks that lack ipywidgets
    although its text bar works; that one warning is silenced while they are imported."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        yield


def _folder_entry(folder: Path) -> tuple[CatalogEntry, dict]:
    """Entry and saved settings of a folder: a ``pipe.save()`` bundle, or a plain Hugging Face model folder."""
    bundle = folder / BUNDLE_FILE
    if bundle.is_file():
        try:
            saved = json.loads(bundle.read_text("utf-8"))
            entry = CatalogEntry(**{**saved["entry"], "aliases": tuple(saved["entry"]["aliases"])})
            return entry, {"sentence_splitter": saved["sentence_splitter"], **saved["settings"]}
        except (ValueError, KeyError, TypeError) as e:
            raise ModelLoadError("E027", f"'{bundle}' is not a valid nlu_lite bundle file ({type(e).__name__}: {e}); "
                                 "write the bundle again with pipe.save(), or delete the file to load the "
                                 "folder as a plain model.") from e
    config = json.loads((folder / "config.json").read_text("utf-8"))
    slug = re.sub(r"[^0-9a-z]+", "_", folder.resolve().name.lower()).strip("_") or "model"
    entry = CatalogEntry(
        name=slug, hf_id=str(folder), revision="local", do_lower_case=None,  # type: ignore[arg-type]
        dim=int(config.get("hidden_size", config.get("dim", 0))),
        max_wordpieces=int(config.get("max_position_embeddings", 512)), normalize=False,
        license="unknown (local folder)", description=f"Local model folder {folder}")
    return entry, {}


def load(name: str | None = None, *, path: str | os.PathLike | None = None, revision: str | None = None,
         device: str = "auto", precision: str | None = None, threads: int | None = None,
         sentence_splitter: str | None = None, **settings: object) -> Pipeline:
    """Load an embedding pipeline by catalog name, alias or local folder.

    Args:
        name: a catalog name (``en.embed.biobert.clinical_base_cased``; the ``en.`` may be left out), an alias
            (``clinical_bert``), or a folder path. Default: the packaged all-MiniLM-L6-v2, which works offline.
        path: a local model folder (a Hugging Face model folder or a ``pipe.save()`` bundle) to load instead of
            looking anywhere else; with ``name`` the catalog entry supplies casing, limits and the column name.
        revision: hub revision overriding the catalog's.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        precision: ``"fp32"`` (CPU default), ``"int8"`` (CPU, dynamic quantization), ``"fp16"``/``"bf16"``.
        threads: torch CPU threads (process-wide); default: torch's own choice.
        sentence_splitter: ``"clinical"`` (default; rules for clinical layout) or ``"sentencizer"`` (spaCy's).
        **settings: defaults for ``predict`` (see ``Pipeline.predict``), e.g. ``subword_pooling="mean"``.

    Model files are looked for in: ``path``; a packaged model; the Hugging Face cache; the hub (unless
    ``HF_HUB_OFFLINE=1``). Unknown names raise ``UnknownModelError`` listing the closest catalog names.
    """
    if path is None and name is not None and os.path.isdir(os.path.expanduser(name)):
        path, name = name, None
    saved: dict = {}
    if path is not None:
        folder = Path(path).expanduser()
        sources.check_folder(folder)
        entry, saved = (model_catalog.resolve(name), {}) if name is not None else _folder_entry(folder)
        source = sources.ModelSource(folder, "folder")
    else:
        entry = model_catalog.resolve(name if name is not None else "default")  # fails fast, before any import
        with _quiet_tqdm_import():
            source = sources.locate(entry, revision)
    splitter = sentence_splitter or saved.pop("sentence_splitter", "clinical")
    if splitter not in SENTENCE_SPLITTERS:
        raise InvalidOptionError("E028", f"sentence_splitter={splitter!r} is not one of {list(SENTENCE_SPLITTERS)}.")
    defaults = Settings(output_level=entry.default_level, normalize=entry.normalize).updated(
        "load()", **saved, **settings)
    with _quiet_tqdm_import():
        encoder = Encoder(source.folder, entry.do_lower_case, device=device, precision=precision, threads=threads)
    if entry.dim != encoder.dim:
        raise ModelLoadError(
            "E029", f"The model in '{source.folder}' has hidden size {encoder.dim}, but the catalog entry "
                             f"{entry.name!r} says dim={entry.dim}: the folder holds another model.")
    return Pipeline(entry, source, encoder, splitter, defaults)
