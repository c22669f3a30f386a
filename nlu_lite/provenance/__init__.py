"""Provenance: which model, revision, runtime, settings and library versions made a result.

The record is a JSON-able dict built once per prediction (``collect``), carried in ``DataFrame.attrs``
(``attach``; pandas keeps attrs through filtering, ``copy``, ``reset_index``, ``merge``, and ``concat`` of frames
with equal records), written into Parquet key-value metadata (``write_parquet`` / ``read_parquet``) and into the
Spark schema metadata of the vector column (``spark_metadata``). ``provenance(df)`` reads it back from any of them.
Nothing here imports torch, transformers or spaCy: versions come from ``importlib.metadata``.
"""

from __future__ import annotations

import sys
import types

from ._attach import attach, provenance, spark_metadata
from ._parquet import ParquetChunks, parquet_support, parquet_table, read_parquet, write_parquet, write_parquet_chunks
from ._record import ATTRS_KEY, FORMAT, REQUIRED_FACTS, collect, resolved_revision

__all__ = ["collect", "attach", "provenance", "resolved_revision", "write_parquet", "write_parquet_chunks",
           "read_parquet", "parquet_support", "parquet_table", "ParquetChunks", "spark_metadata", "FORMAT",
           "ATTRS_KEY", "REQUIRED_FACTS"]


class _CallableModule(types.ModuleType):
    """This module is also the function: ``nlu_lite.provenance(df)`` beside ``nlu_lite.provenance.read_parquet``.

    (A package attribute named like a submodule is replaced by the module as soon as the submodule is imported,
    so a plain function ``nlu_lite.provenance`` would vanish the first time the pipeline imports this module.)
    """

    def __call__(self, data: object) -> dict:
        return provenance(data)


sys.modules[__name__].__class__ = _CallableModule
