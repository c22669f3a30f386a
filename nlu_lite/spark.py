"""The same predict() on a Spark DataFrame, computed on the executors with ``mapInPandas``.

Each executor Python worker loads the model once (cached by its rebuild spec) and reuses it for every batch and
every task it runs. Models reach the executors as a local path: the driver's model folder (a packaged model,
the Hugging Face cache or a folder), which must exist at the same path on the executors: on a cluster, put a
``pipe.save()`` bundle on shared storage and ``load(path=...)`` it. pyspark is only imported here, when a
Spark DataFrame is passed.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd

from . import levels, provenance
from .errors import InvalidInputError
from .frames import output_columns
from .spec import Spec

if TYPE_CHECKING:
    import pyspark.sql

    from .pipeline import Pipeline

INDEX_NAME = "origin_index"
_CACHE: dict[str, Pipeline] = {}
_CACHE_LOCK = threading.Lock()


def is_spark_dataframe(data: object) -> bool:
    """True for a ``pyspark.sql.DataFrame`` (classic or Connect), without importing pyspark."""
    return type(data).__module__.startswith("pyspark.sql") and hasattr(data, "mapInPandas")


def cached_pipeline(pipeline_class: type[Pipeline], spec: str) -> Pipeline:
    """The pipeline for a JSON rebuild spec, built once per Python process."""
    with _CACHE_LOCK:
        if spec not in _CACHE:
            _CACHE[spec] = pipeline_class.from_spec(Spec.from_json(spec, "The Spark task's pipeline spec"))
        return _CACHE[spec]


def predict_partition(batches: Iterator[pd.DataFrame], pipeline_class: type[Pipeline], spec: str, text_column: str,
                      id_column: str, options: dict) -> Iterator[pd.DataFrame]:
    """The function run on each partition: Arrow batches in, predict() frames out, ids as a column."""
    pipe = cached_pipeline(pipeline_class, spec)
    for batch in batches:
        yield pipe.predict(batch, text_column=text_column, id_column=id_column, **options).reset_index()


def _output_schema(sdf, pipe: Pipeline, settings, text_column: str, id_column: str):
    """The Spark schema of the output, from the same column list as the pandas frames (``frames.output_columns``)."""
    from pyspark.sql import types as T

    kinds = {"string": T.StringType(), "int64": T.LongType(),
             "vector": T.ArrayType(T.FloatType(), containsNull=True)}
    fields = [T.StructField(id_column, sdf.schema[id_column].dataType, True)]
    record = pipe.provenance(settings)
    fields += [T.StructField(name, kinds[kind], True, provenance.spark_metadata(record) if kind == "vector" else None)
               for name, kind in output_columns(levels.get(settings.output_level), settings.positions,
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


def predict_spark(pipe: Pipeline, sdf: pyspark.sql.DataFrame, output_level: str | None, text_column: str | None,
                  id_column: str | None, options: dict) -> pyspark.sql.DataFrame:
    """``pipe.predict`` for a Spark DataFrame; returns a Spark DataFrame with the pandas result's columns.

    ``id_column`` names a column that identifies input rows; it comes first in the output, under its own name.
    Without it, an ``origin_index`` column is added with ``monotonically_increasing_id()`` (stable for a given
    partitioning of the input).
    """
    from pyspark.sql import functions as F

    _workers_use_driver_python(sdf)
    text_column = "text" if text_column is None else text_column
    if text_column not in sdf.columns:
        raise InvalidInputError(
            "E060", f"The Spark DataFrame has no column {text_column!r}; its columns are {sdf.columns}. "
                                "Name the text column with text_column='<name>'.")
    settings = pipe.settings.updated("predict()", **options,
                                     **({"output_level": output_level} if output_level else {}))
    if id_column is None:
        id_column = INDEX_NAME
        if id_column in sdf.columns:
            raise InvalidInputError("E061", f"The Spark DataFrame already has an {INDEX_NAME!r} column; pass "
                                    f"id_column='{INDEX_NAME}' to use it as the row id.")
        sdf = sdf.withColumn(id_column, F.monotonically_increasing_id())
    elif id_column not in sdf.columns:
        raise InvalidInputError("E062", f"id_column={id_column!r} is not a column; columns are {sdf.columns}.")
    schema = _output_schema(sdf, pipe, settings, text_column, id_column)
    spec = pipe.spec().to_json()
    pipeline_class = type(pipe)  # pickled by reference: executors import it, this module does not
    per_call = {**asdict(settings), "progress": False}  # every effective option; no bars on executors

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return predict_partition(batches, pipeline_class, spec, text_column, id_column, per_call)

    return sdf.mapInPandas(run, schema=schema)
