"""nlu_lite: transformer embeddings of (clinical) text as pandas DataFrames, in one line.

>>> import nlu_lite
>>> pipe = nlu_lite.load("en.embed_sentence.all_minilm_l6_v2")       # doctest: +SKIP
>>> df = pipe.predict("Patient denies chest pain.", output_level="token")  # doctest: +SKIP

Importing the package is light: torch, transformers and spaCy are imported on first use of ``load`` (or
of ``Pipeline``), and pandas on first use of ``catalog``/``search``, so the CLI's ``--help``, ``--version``,
``catalog``, ``search`` and ``info`` start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from . import errors
from ._version import __version__

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these are imported on first access
    from . import provenance
    from .models._browse import catalog, search
    from .pipeline._engine import NoWordpieceWarning
    from .pipeline._frames import to_numpy
    from .pipeline._load import load
    from .pipeline._pipeline import Pipeline
    from .samples._notes import sample_notes
    from .text._spans import patterns, terms
    from .tools._compare import compare
    from .tools._index import VectorIndex, index
    from .tools._plots import plot_compare, plot_embeddings, plot_similarity
    from .tools._quantize import quantize
    from .tools._similarity import NullVectorWarning, nearest, similarity
    from .tools._sklearn import EmbeddingTransformer
    from .tools._vectors import aggregate, embed, to_wide

# public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "load": "pipeline._load",
    "catalog": "models._browse",
    "search": "models._browse",
    "Pipeline": "pipeline._pipeline",
    "NoWordpieceWarning": "pipeline._engine",
    "to_numpy": "pipeline._frames",
    "to_wide": "tools._vectors",
    "aggregate": "tools._vectors",
    "embed": "tools._vectors",
    "similarity": "tools._similarity",
    "nearest": "tools._similarity",
    "NullVectorWarning": "tools._similarity",
    "quantize": "tools._quantize",
    "index": "tools._index",
    "VectorIndex": "tools._index",
    "EmbeddingTransformer": "tools._sklearn",
    "plot_embeddings": "tools._plots",
    "plot_similarity": "tools._plots",
    "plot_compare": "tools._plots",
    "compare": "tools._compare",
    "terms": "text._spans",
    "patterns": "text._spans",
    "sample_notes": "samples._notes",
}

# submodules that are also callables: nlu_lite.provenance(df), nlu_lite.provenance.read_parquet(path)
_CALLABLE_MODULES = ("provenance",)

__all__ = ["__version__", "load", "catalog", "search", "Pipeline", "NoWordpieceWarning", "errors", "to_numpy",
           "plot_embeddings", "plot_similarity", "terms", "patterns", "provenance", "to_wide", "aggregate", "embed",
           "similarity", "nearest", "NullVectorWarning", "EmbeddingTransformer", "sample_notes", "compare",
           "plot_compare", "quantize", "index", "VectorIndex"]


def __getattr__(name: str) -> object:
    if name in _CALLABLE_MODULES:
        return import_module(f".{name}", __name__)  # importing sets it as this package's attribute
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nlu_lite' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later accesses skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
