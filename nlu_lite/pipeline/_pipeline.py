"""The ``Pipeline`` that ``load()`` returns: text in, a DataFrame of vectors out.

The stages live in ``Engine`` (``_engine.py``), which Spark executors rebuild; ``Pipeline`` adds what only the
caller's process does: Spark DataFrames handed to the executors, bundles, and the printed summary.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..tools import _spark as spark
from . import _documents as documents
from ._bundle import write_bundle
from ._engine import Engine, Written
from ._info import info_text

if TYPE_CHECKING:
    import pyspark.sql


def _chosen(runtime) -> str:
    """`` (fast: ...)`` when ``precision="fast"`` chose the runtime's precision, else nothing."""
    chosen = getattr(runtime, "chosen", "")
    return f" ({chosen})" if chosen else ""


class Pipeline(Engine):
    """A loaded model with its text processing; call ``predict`` to get embeddings as a DataFrame."""

    def __repr__(self) -> str:
        rt = self.encoder.runtime
        return (f"Pipeline({self.entry.name!r}, source={self.source.kind}:{self.source.folder}, "
                f"family={self.encoder.family}, dim={self.encoder.dim}, runtime={rt.name}, device={rt.device}, "
                f"precision={rt.precision}{_chosen(rt)}, level={self.settings.output_level}, "
                f"subword_pooling={self.settings.subword_pooling})")

    def print_info(self) -> None:
        """Print the model, where it came from, how it runs, and every setting with how to change it."""
        print(info_text(self))

    def save(self, folder: str | os.PathLike) -> Path:
        """Write model, tokenizer, catalog entry and settings to ``folder``.

        ``nlu_lite.load(path=folder)`` then reproduces identical vectors, with no network: the model files
        (configs, tokenizer files of any family, the weights in use) are copied as they are, not re-serialised,
        with the rebuild spec ``nlu_lite.json`` beside them.
        """
        return write_bundle(self.source.folder, self.spec(), folder)

    def predict(self, data: object, output_level: str | None = None, *, text_column: Hashable | None = None,
                id_column: str | None = None, spans: object = None, output_path: str | os.PathLike | None = None,
                **options: object) -> pd.DataFrame | pyspark.sql.DataFrame | Written:
        """Embed ``data`` and return a DataFrame.

        Args:
            data: a string, a list/tuple/array/Series/iterable of strings, or a DataFrame with a text column.
                ``None``/``NaN``/empty entries keep their row with null outputs. A ``pyspark.sql.DataFrame`` is
                computed on the Spark executors and a Spark DataFrame is returned.
            output_level: ``"token"``, ``"sentence"``, ``"document"`` or ``"span"`` (default: the pipeline's;
                ``"span"`` when ``spans`` is given).
            text_column: the DataFrame column holding the text (default ``"text"``); other columns are kept.
            id_column: a column identifying the rows; it becomes the index, under its own name (DataFrames; for
                a Spark DataFrame without it, an ``origin_index`` column is added with
                ``monotonically_increasing_id()``).
            spans: character ranges to embed in context (``span`` level): a DataFrame with the row id (a column
                named ``origin_index``, or like ``id_column``), ``begin``, ``end`` and optional ``label``; one list
                of ``(begin, end[, label])`` per input row; ``nlu_lite.terms([...])``; or ``nlu_lite.patterns({...})``.
            output_path: a ``.parquet`` file to write the result to instead of returning it (NLU's
                ``output_path``): written chunk by chunk (``chunk_size`` rows at a time, so memory stays bounded by
                a chunk whatever the input's size), with the provenance record in its metadata, under a temporary
                name renamed at the end (a failure or Ctrl-C leaves nothing half-written). Returns a ``Written``
                (``path``, ``rows``); ``nlu_lite.provenance.read_parquet(path)`` reads it back.
            **options: per-call overrides of the settings: ``positions`` (add ``begin``/``end``, end exclusive),
                ``subword_pooling`` (``first``, ``last``, ``mean``, ``first_last``), ``pooling`` (``mean``,
                ``cls``, ``max``), ``normalize`` (L2-normalise sentence/document vectors), ``batch_tokens``,
                ``max_batch_size``, ``chunk_size``. Two more for a Spark DataFrame only:
                ``ship_model`` (``"auto"``, default: ship unless the master is ``local[...]``; ``True``: a zipped
                ``save()`` bundle goes with the job via ``SparkContext.addArchive``, made once per model revision
                and SparkContext, so executors need no copy of the model; ``False``: executors read the driver's
                model folder at the same path, e.g. a bundle on shared storage; Spark Connect has no SparkContext:
                there the path is used and ``True`` is an error) and ``vectors`` (``"array"``, default:
                ``array<float>``; ``"ml"``: ``pyspark.ml.linalg`` vectors for Spark ML, provenance kept in the
                column's metadata). One INFO line on the ``nlu_lite`` logger says how the model travels.

        Returns:
            One row per token, sentence or document, indexed by the input's index (``origin_index``, or the
            ``id_column``'s name), with the text, ``sentence_id`` (token and sentence level), optional
            ``begin``/``end`` and the embedding column (1-D float32 arrays), then the input DataFrame's other
            columns.
        """
        if documents.is_spark_dataframe(data):
            return spark.predict_spark(self, data, output_level, text_column, id_column, options, spans, output_path)
        return super().predict(data, output_level, text_column=text_column, id_column=id_column, spans=spans,
                               output_path=output_path, **options)
