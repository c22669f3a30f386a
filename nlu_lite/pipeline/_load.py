"""``load()``: a name or folder to a ready ``Pipeline``, through one rebuild spec (``spec.Spec``)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from ..cache import VectorCache
from ..errors import InvalidOptionError
from ..models import _catalog as model_catalog
from ..models import _hf_model as hf_model
from ..models import _sources as sources
from ..models._catalog import CatalogEntry
from ._bundle import read_group
from ._pipeline import Pipeline
from ._resources import default_threads
from ._spec import BUNDLE_FILE, Spec


@contextmanager
def _quiet_tqdm_import() -> Iterator[None]:
    """transformers and huggingface_hub import tqdm.auto, which warns in notebooks that lack ipywidgets
    although its text bar works; that one warning is silenced while they are imported."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        yield


def _derived_entry(folder: Path, hf_id: str | None = None, revision: str = "local") -> CatalogEntry:
    """An entry for a model the catalog lacks (a folder, or a hub id), derived from its own files.

    Family, width and usable length come from its config; casing from its tokenizer (checked against the
    vocabulary at load); pooling, normalisation, limit and prompts from its sentence-transformers files, if any.
    """
    config = hf_model.load_config(folder)
    slug = re.sub(r"[^0-9a-z]+", "_", (hf_id or folder.resolve().name).lower()).strip("_") or "model"
    return CatalogEntry(
        name=slug, hf_id=hf_id or str(folder), revision=revision, do_lower_case=None,  # type: ignore[arg-type]
        dim=int(getattr(config, "hidden_size", None) or getattr(config, "dim", 0)),
        max_wordpieces=hf_model.max_sequence(config), normalize=False, family=config.model_type,
        license="see model card" if hf_id else "unknown (local folder)",
        description=f"Hugging Face model {hf_id}, not in the catalog" if hf_id else f"Local model folder {folder}")


def _snapshot_commit(folder: Path) -> str | None:
    """The commit a Hugging Face cache snapshot holds (its folder name), else None."""
    if folder.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", folder.name):
        return folder.name
    return None


def _model_names(name: object) -> list[tuple[str, dict]] | None:
    """Several models asked for at once (NLU's ``"a b"``, a list, or a dict of per-model options), checked
    before anything loads; ``None`` for one model."""
    if isinstance(name, str):
        if sources.is_folder_name(name) or len(name.split()) < 2:
            return None
        items: list = [(n, {}) for n in name.split()]
    elif isinstance(name, (list, tuple)):
        items = [(n, {}) for n in name]
    elif isinstance(name, dict):
        items = list(name.items())
    else:
        return None
    for n, own in items:
        if not isinstance(n, str) or not isinstance(own, dict):
            raise InvalidOptionError("E077", f"Several models are named by strings, each with a dict of its own "
                                     f"options; got {n!r}: {own!r}. E.g. load({{'minilm': {{}}, 'clinical_bert': "
                                     "{'precision': 'int8'}}).")
        if not sources.is_folder_name(n) and not (model_catalog.is_hub_id(n) and model_catalog.find(n) is None):
            model_catalog.resolve(n)  # an unknown name fails here, naming the closest, before any model loads
    return items


def load(name: str | list | dict | None = None, *, path: str | os.PathLike | None = None, revision: str | None = None,
         runtime: str | None = None, device: str = "auto", precision: str | None = None, threads: int | None = None,
         sentence_splitter: str | None = None, cache: str | os.PathLike | VectorCache | None = None,
         **settings: object) -> Pipeline:
    """Load an embedding pipeline by catalog name, alias or local folder.

    Args:
        name: a catalog name (``en.embed.biobert.clinical_base_cased``; the ``en.`` may be left out), an alias
            (``clinical_bert``), or a folder path. Default: the packaged all-MiniLM-L6-v2, which works offline.
        path: a local model folder (a Hugging Face model folder or a ``pipe.save()`` bundle) to load instead of
            looking anywhere else; with ``name`` the catalog entry supplies casing, limits and the column name.
        revision: hub revision overriding the catalog's.
        runtime: what runs the model: ``"torch"`` (default; see ``nlu_lite.runtimes.names()``). A bundle
            restores the runtime it was saved with.
        device: ``"auto"`` (CUDA when available, else Apple Silicon's GPU, else the CPU), ``"cpu"``, ``"cuda"``
            or ``"mps"`` (Apple Silicon: fp32 or fp16).
        precision: ``"fp32"`` (default), ``"int8"`` (CPU), ``"bf16"`` (CUDA, or a CPU with native bf16),
            ``"fp16"`` (CUDA), or ``"fast"``: the fastest one meeting the accuracy bars on this machine
            (see each runtime's ``fast_precision``; ``pipe.encoder.runtime.precision`` says which). A bundle
            restores the precision it was saved with.
        threads: CPU threads of the runtime (process-wide for torch); default: all cores on a quiet machine, the
            spare ones on a busy one (``nlu_lite.runtime.default_threads``: oversubscribed torch threads ran 4x
            slower than one thread on a busy 2-core machine).
        sentence_splitter: ``"clinical"`` (default; rules for clinical layout) or ``"sentencizer"`` (spaCy's).
        cache: a vector cache file (SQLite; see ``nlu_lite.cache``) or a ``VectorCache``: re-runs read the vectors
            of units they have seen and encode only new or changed ones, with identical results.
        **settings: defaults for ``predict`` (see ``Pipeline.predict``), e.g. ``subword_pooling="mean"``.

    Several models: ``load("a b")`` (NLU's space-separated names), ``load(["a", "b"])`` or, with options per
    model, ``load({"a": {}, "b": {"precision": "int8"}})`` return a ``PipelineGroup`` whose ``predict``
    segments the text once and returns one DataFrame with a vector column per model; every name is checked
    before any model loads.

    A ``group.save()`` folder loads as that ``PipelineGroup`` again (each model from its own bundle).

    Model files are looked for in: ``path``; a packaged model; the Hugging Face cache; the hub (unless
    ``HF_HUB_OFFLINE=1``). Unknown names raise ``UnknownModelError`` listing the closest catalog names.
    """
    names = _model_names(name) if path is None else None
    options = dict(revision=revision, runtime=runtime, device=device, precision=precision, threads=threads,
                   sentence_splitter=sentence_splitter, cache=cache, **settings)
    if names is not None:
        from ._group import PipelineGroup

        return PipelineGroup([load(n, **{**options, **own}) for n, own in names])
    if path is None and name is not None and isinstance(name, str) and sources.is_folder_name(name):
        path, name = name, None
    members = read_group(Path(path).expanduser()) if path is not None and name is None else None
    if members is not None:  # a group.save() bundle
        from ._group import PipelineGroup

        return PipelineGroup([load(path=member, **options) for member in members])
    saved: Spec | None = None
    if path is not None:
        folder = Path(path).expanduser()
        sources.check_folder(folder)
        if (folder / BUNDLE_FILE).is_file():
            saved = Spec.read_bundle(folder)
        if name is not None:
            entry = model_catalog.resolve(name)
        elif saved is not None:
            entry = CatalogEntry.from_dict(saved.entry)
        else:
            entry = _derived_entry(folder)
        source = sources.ModelSource(folder, "bundle" if saved is not None else "folder")
    elif name is not None and model_catalog.is_hub_id(name) and model_catalog.find(name) is None:
        stub = CatalogEntry(name=name, hf_id=name.strip(), revision="main", do_lower_case=False, dim=1,
                            max_wordpieces=512, normalize=False, license="", description="")
        with _quiet_tqdm_import():
            source = sources.locate(stub, revision)
        entry = _derived_entry(source.folder, hf_id=name.strip(), revision=revision or "main")
    else:
        entry = model_catalog.resolve(name if name is not None else "default")  # fails fast, before any import
        with _quiet_tqdm_import():
            source = sources.locate(entry, revision)
    base = asdict(saved) if saved is not None else {}
    spec = Spec(entry=entry.to_dict(), model_path=str(source.folder), source_kind=source.kind,
                runtime=runtime or base.get("runtime", "torch"),
                precision=precision if precision is not None else base.get("precision"),
                device=device, threads=threads if threads is not None else base.get("threads", default_threads()),
                sentence_splitter=sentence_splitter or base.get("sentence_splitter", "clinical"),
                settings={**base.get("settings", {}), **settings},
                revision=_snapshot_commit(source.folder) or base.get("revision"),
                cache=None if cache is None else str(cache.path if isinstance(cache, VectorCache) else cache))
    with _quiet_tqdm_import():
        return Pipeline.from_spec(spec, cache=cache if isinstance(cache, VectorCache) else None)
