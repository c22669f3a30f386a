"""The same predict() on a Spark DataFrame, computed on the executors with ``mapInPandas``.

Each executor Python worker loads the model once (cached by its rebuild spec) and reuses it for every batch and
every task it runs. Models reach the executors as a local path: the driver's model folder (a packaged model,
the Hugging Face cache or a folder), which must exist at the same path on the executors: on a cluster, put a
``pipe.save()`` bundle on shared storage and ``load(path=...)`` it. pyspark is only imported here, when a
Spark DataFrame is passed.

Spans (``spans=``) come as ``nlu_lite.terms``/``patterns`` (matched on the executors) or as a table keyed by
``id_column`` (a Spark or pandas DataFrame: id, ``begin``, ``end``, optional ``label``), which is grouped by id and
joined to the input rows; span ids without an input row, and ids that repeat in the input, are errors on the
driver, as in pandas. Lists of spans per row have no meaning here: a Spark DataFrame's rows have no fixed order.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd

from .. import levels, provenance
from ..errors import InvalidInputError
from ..pipeline._documents import is_spark_dataframe
from ..pipeline._engine import Engine
from ..pipeline._spec import Spec
from ..text import _spans as span_input

if TYPE_CHECKING:
    import pyspark.sql

INDEX_NAME = "origin_index"
SPANS_COLUMN = "__nlu_lite_spans"  # the per-row span lists joined to the input (dropped before predict)
_CACHE: dict[str, Engine] = {}
_MATCHERS: dict[str, span_input.MatcherSpans] = {}
_CACHE_LOCK = threading.Lock()


def cached_pipeline(spec: str) -> Engine:
    """The pipeline for a JSON rebuild spec, built once per Python process."""
    with _CACHE_LOCK:
        if spec not in _CACHE:
            _CACHE[spec] = Engine.from_spec(Spec.from_json(spec, "The Spark task's pipeline spec"))
        return _CACHE[spec]


def _cached_matcher(request: span_input.MatcherSpans) -> span_input.MatcherSpans:
    """One matcher per Python process for the same terms or patterns (every task would build it again)."""
    key = "matcher:" + json.dumps([request.kind, request.table, request.case_sensitive], sort_keys=True, default=str)
    with _CACHE_LOCK:
        return _MATCHERS.setdefault(key, request)


def predict_partition(batches: Iterator[pd.DataFrame], spec: str, text_column: str, id_column: str, options: dict,
                      matcher: span_input.MatcherSpans | None = None) -> Iterator[pd.DataFrame]:
    """The function run on each partition: Arrow batches in, predict() frames out, ids as a column.

    ``matcher``: terms or patterns to find in every batch; else a batch may carry ``SPANS_COLUMN``, the spans of
    each row as a list of ``{begin, end, label}``, which becomes the batch's per-row span lists.
    """
    pipe = cached_pipeline(spec)
    if matcher is not None:
        matcher = _cached_matcher(matcher)
    for batch in batches:
        spans: object = matcher
        if SPANS_COLUMN in batch.columns:
            spans = [[(int(s["begin"]), int(s["end"])) if s["label"] is None else
                      (int(s["begin"]), int(s["end"]), str(s["label"])) for s in row]
                     if row is not None else [] for row in batch.pop(SPANS_COLUMN)]
        # one frame per chunk: memory stays bounded by the chunk, and each column is one contiguous array
        # (a frame concatenated from chunks holds pyarrow ChunkedArrays, which Spark's Arrow writer refuses)
        for frame in pipe.predict_iter(batch.set_index(id_column), text_column=text_column, spans=spans,
                                       **options):
            yield frame.rename_axis(id_column).reset_index()


def _output_schema(sdf, pipe: Engine, settings, text_column: str, id_column: str):
    """The Spark schema of the output, from the same column list as the pandas frames (``Level.output_columns``)."""
    from pyspark.sql import types as T

    kinds = {"string": T.StringType(), "int64": T.LongType(),
             "vector": T.ArrayType(T.FloatType(), containsNull=True)}
    fields = [T.StructField(id_column, sdf.schema[id_column].dataType, True)]
    record = pipe.provenance(settings)
    fields += [T.StructField(name, kinds[kind], True, provenance.spark_metadata(record) if kind == "vector" else None)
               for name, kind in levels.get(settings.output_level).output_columns(settings.positions,
                                                                                  pipe.column_name)]
    taken = {f.name for f in fields}
    extras = [f for f in sdf.schema.fields if f.name not in {text_column, id_column}]
    clash = sorted(f.name for f in extras if f.name in taken)
    if clash:
        raise InvalidInputError(
            "E059", f"The Spark DataFrame has columns {clash} that the output also uses; rename them.")
    return T.StructType(fields + extras)


def _workers_use_driver_python(sdf: pyspark.sql.DataFrame) -> None:
    """In local mode, run the Python workers with the driver's interpreter.

    Spark starts workers with ``PYSPARK_PYTHON``, else ``python3`` from PATH. In a notebook whose kernel is a
    virtual environment that is another interpreter, without nlu_lite, and every task fails with a
    ``ModuleNotFoundError`` buried in Java logs. Local workers run on this machine, so the driver's interpreter is
    the right one; a ``PYSPARK_PYTHON`` the user set is left alone, and so are clusters (set it there).
    """
    try:
        context = sdf.sparkSession.sparkContext
    except Exception:  # Spark Connect: no SparkContext on the client, workers are the server's business
        return
    if os.environ.get("PYSPARK_PYTHON") or not str(context.master).startswith("local"):
        return
    found = shutil.which(context.pythonExec)
    if found is None or os.path.realpath(found) != os.path.realpath(sys.executable):
        context.pythonExec = sys.executable


def _column(name: str):
    """A Spark column by its exact name: quoted, so that names with dots or spaces are not parsed as paths."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _join_span_table(sdf, table, id_column: str | None):
    """``sdf`` with each row's spans from ``table`` (Spark or pandas: id, begin, end[, label]) in ``SPANS_COLUMN``."""
    from pyspark.sql import functions as F

    if id_column is None:
        raise InvalidInputError("E439", "spans= as a table on a Spark DataFrame needs id_column='<column>': the "
                                "column of the input that the spans' rows name (it has no fixed row order).")
    if isinstance(table, pd.DataFrame):
        table = sdf.sparkSession.createDataFrame(table)
    missing = [c for c in (id_column, "begin", "end") if c not in table.columns]
    if missing:
        raise InvalidInputError("E440", f"The spans table lacks the columns {missing} (it has {table.columns}); it "
                                f"needs {id_column!r} (the input row's id), 'begin', 'end' and optionally 'label'.")
    label = F.col("label").cast("string") if "label" in table.columns else F.lit(None).cast("string")
    spans = table.select(_column(id_column), F.col("begin").cast("long").alias("begin"),
                         F.col("end").cast("long").alias("end"), label.alias("label"))
    ids = sdf.select(_column(id_column))
    unknown = [r[0] for r in spans.join(ids, on=id_column, how="left_anti").select(_column(id_column)).distinct()
               .limit(10).collect()]
    if unknown:
        raise InvalidInputError("E441", f"The spans name row id(s) that the input does not have: {unknown} (at "
                                f"most 10 shown). Span rows are matched to the input's {id_column!r}.")
    repeated = [r[0] for r in ids.groupBy(_column(id_column)).count().filter("count > 1").limit(5).collect()]
    if repeated:
        raise InvalidInputError("E442", f"Spans are matched to input rows by {id_column!r}, but its values "
                                f"{repeated} repeat; pass an id_column with unique values.")
    grouped = spans.groupBy(_column(id_column)).agg(
        F.collect_list(F.struct("begin", "end", "label")).alias(SPANS_COLUMN))
    return sdf.join(grouped, on=id_column, how="left")


def predict_spark(pipe: Engine, sdf: pyspark.sql.DataFrame, output_level: str | None, text_column: str | None,
                  id_column: str | None, options: dict, spans: object = None) -> pyspark.sql.DataFrame:
    """``pipe.predict`` for a Spark DataFrame; returns a Spark DataFrame with the pandas result's columns.

    ``id_column`` names a column that identifies input rows; it comes first in the output, under its own name.
    Without it, an ``origin_index`` column is added with ``monotonically_increasing_id()`` (stable for a given
    partitioning of the input). ``spans``: see the module docstring.
    """
    from pyspark.sql import functions as F

    _workers_use_driver_python(sdf)
    text_column = "text" if text_column is None else text_column
    if text_column not in sdf.columns:
        raise InvalidInputError(
            "E060", f"The Spark DataFrame has no column {text_column!r}; its columns are {sdf.columns}. "
                                "Name the text column with text_column='<name>'.")
    text_type = sdf.schema[text_column].dataType
    if text_type.typeName() not in ("string", "varchar", "char", "void"):
        raise InvalidInputError(
            "E064", f"The text column {text_column!r} has Spark type {text_type.simpleString()}, not string; cast "
                    f"it first, e.g. sdf.withColumn({text_column!r}, F.col('`{text_column}`').cast('string')), or name "
                    "another column with text_column='<name>'.")
    if spans is not None:
        output_level = output_level or "span"
    settings = pipe.settings.updated("predict()", **options,
                                     **({"output_level": output_level} if output_level else {}))
    matcher = spans if isinstance(spans, span_input.MatcherSpans) else None
    if spans is not None and matcher is None and not (isinstance(spans, pd.DataFrame) or is_spark_dataframe(spans)):
        raise InvalidInputError("E437", f"spans={type(spans).__name__} on a Spark DataFrame: its rows have no fixed "
                                "order, so spans must name their rows. Pass a table (Spark or pandas DataFrame) "
                                "with the id_column, 'begin', 'end'[, 'label'], or nlu_lite.terms([...]) / "
                                "nlu_lite.patterns({...}).")
    user_id_column = id_column
    if id_column is None:
        id_column = INDEX_NAME
        if id_column in sdf.columns:
            raise InvalidInputError("E061", f"The Spark DataFrame already has an {INDEX_NAME!r} column; pass "
                                    f"id_column='{INDEX_NAME}' to use it as the row id.")
        sdf = sdf.withColumn(id_column, F.monotonically_increasing_id())
    elif id_column not in sdf.columns:
        raise InvalidInputError("E062", f"id_column={id_column!r} is not a column; columns are {sdf.columns}.")
    schema = _output_schema(sdf, pipe, settings, text_column, id_column)
    if spans is not None and matcher is None:
        sdf = _join_span_table(sdf, spans, user_id_column)
    spec = pipe.spec().to_json()
    per_call = {**asdict(settings), "progress": False}  # every effective option; no bars on executors

    names = list(sdf.columns)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        named = (batch.set_axis(names, axis=1) for batch in batches)
        return predict_partition(named, spec, text_column, id_column, per_call, matcher)

    # mapInPandas resolves each input column by name, which fails for names with dots ("note.text"): the input
    # travels under positional names and gets its own back on the executor
    return sdf.toDF(*[f"_{k}" for k in range(len(names))]).mapInPandas(run, schema=schema)
