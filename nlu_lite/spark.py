"""The same predict() on a Spark DataFrame, computed on the executors with ``mapInPandas``.

Each executor Python worker loads the model once (cached by its recipe) and reuses it for every batch and
every task it runs. Models reach the executors as a local path: the driver's model folder (a packaged model,
the Hugging Face cache or a folder), which must exist at the same path on the executors: on a cluster, put a
``pipe.save()`` bundle on shared storage and ``load(path=...)`` it. pyspark is only imported here, when a
Spark DataFrame is passed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import asdict

import pandas as pd

from .errors import InvalidInputError

INDEX_NAME = "origin_index"
_CACHE: dict[str, object] = {}
_CACHE_LOCK = threading.Lock()


def is_spark_dataframe(data: object) -> bool:
    """True for a ``pyspark.sql.DataFrame`` (classic or Connect), without importing pyspark."""
    return type(data).__module__.startswith("pyspark.sql") and hasattr(data, "mapInPandas")


def cached_pipeline(recipe: str):
    """The pipeline for a JSON recipe, loaded once per Python process."""
    with _CACHE_LOCK:
        if recipe not in _CACHE:
            from .loading import load

            spec = json.loads(recipe)
            _CACHE[recipe] = load(spec["name"], path=spec["path"], precision=spec["precision"],
                                  threads=spec["threads"], sentence_splitter=spec["sentence_splitter"],
                                  device="cpu" if spec["precision"] == "int8" else "auto", **spec["settings"])
        return _CACHE[recipe]


def predict_partition(batches: Iterator[pd.DataFrame], recipe: str, text_column: str, id_column: str,
                      options: dict) -> Iterator[pd.DataFrame]:
    """The function run on each partition: Arrow batches in, predict() frames out, ids as a column."""
    pipe = cached_pipeline(recipe)
    for batch in batches:
        frame = batch.set_index(id_column)
        frame.index.name = INDEX_NAME
        out = pipe.predict(frame, text_column=text_column, **options)
        yield out.reset_index()


def _output_schema(sdf, pipe, level: str, positions: bool, text_column: str, id_column: str):
    from pyspark.sql import types as T

    fields = [T.StructField(INDEX_NAME, sdf.schema[id_column].dataType, True),
              T.StructField(level, T.StringType(), True)]
    if level != "document":
        fields.append(T.StructField("sentence_id", T.LongType(), True))
    if positions:
        fields += [T.StructField("begin", T.LongType(), True), T.StructField("end", T.LongType(), True)]
    fields.append(T.StructField(pipe.column_name, T.ArrayType(T.FloatType(), containsNull=True), True))
    taken = {f.name for f in fields}
    extras = [f for f in sdf.schema.fields if f.name not in {text_column, id_column}]
    clash = sorted(f.name for f in extras if f.name in taken)
    if clash:
        raise InvalidInputError(
            "E059", f"The Spark DataFrame has columns {clash} that the output also uses; rename them.")
    return T.StructType(fields + extras)


def predict_spark(pipe, sdf, output_level: str | None, text_column: str | None, id_column: str | None,
                  options: dict):
    """``pipe.predict`` for a Spark DataFrame; returns a Spark DataFrame with the pandas result's columns.

    ``id_column`` names a column that identifies input rows; it becomes ``origin_index``. Without it, one is
    added with ``monotonically_increasing_id()`` (stable for a given partitioning of the input).
    """
    from pyspark.sql import functions as F

    text_column = text_column or "text"
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
    schema = _output_schema(sdf, pipe, settings.output_level, settings.positions, text_column, id_column)
    recipe = json.dumps(pipe.recipe(), sort_keys=True)
    per_call = {**asdict(settings), "progress": False}  # every effective option; no bars on executors

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return predict_partition(batches, recipe, text_column, id_column, per_call)

    return sdf.mapInPandas(run, schema=schema)
