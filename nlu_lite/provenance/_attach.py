"""The record carried by a result: in ``DataFrame.attrs`` (pandas keeps attrs through filtering, ``copy``,
``reset_index``, ``merge``, and ``concat`` of frames with equal records) and in the Spark schema metadata of the
vector column; ``provenance(df)`` reads it back from either, or from a Parquet file's metadata."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping

import pandas as pd

from ..errors import InvalidInputError
from ._record import ATTRS_KEY, FORMAT


def attach(df: pd.DataFrame, record: Mapping) -> pd.DataFrame:
    """Put ``record`` (from ``collect``) into ``df.attrs["nlu_lite"]`` (a copy); returns ``df``."""
    if not isinstance(record, Mapping) or record.get("format") != FORMAT:
        raise InvalidInputError(
            "E353", f"attach() takes a record made by provenance.collect() (format {FORMAT!r}), got "
                    f"{type(record).__name__} {str(record)[:80]!r}.")
    df.attrs[ATTRS_KEY] = copy.deepcopy(dict(record))
    return df


def _is_spark_schema(data: object) -> bool:
    # by type: a Spark Connect DataFrame answers any attribute (``df.fields`` is a Column)
    return type(data).__module__.startswith("pyspark.sql") and type(data).__name__ == "StructType"


def provenance(data: object) -> dict:
    """The provenance record of a result: a pandas DataFrame from ``predict`` or ``read_parquet``, a Spark
    DataFrame from ``predict`` (read from its vector column's schema metadata), or such a Spark schema.

    Returns a copy (changing it does not change the frame's). Raises ``InvalidInputError`` when there is none.
    """
    if isinstance(data, pd.DataFrame):
        record = data.attrs.get(ATTRS_KEY)
        if isinstance(record, Mapping):
            return copy.deepcopy(dict(record))
        raise InvalidInputError(
            "E354", f"This DataFrame carries no nlu_lite provenance (df.attrs keys: {sorted(data.attrs)}). It is "
                    "set on every frame predict() returns and restored by nlu_lite.provenance.read_parquet(path); "
                    "pandas drops it when frames with different records are concatenated, and a plain "
                    "pd.read_csv cannot keep it. Keep the record: rec = nlu_lite.provenance(df) before combining.")
    schema = getattr(data, "schema", None) if not _is_spark_schema(data) else data
    if _is_spark_schema(schema):
        for field in schema.fields:
            text = (field.metadata or {}).get(ATTRS_KEY)
            if isinstance(text, str):
                return json.loads(text)
        raise InvalidInputError(
            "E355", f"No column of this Spark DataFrame has nlu_lite provenance in its metadata (columns: "
                    f"{[f.name for f in schema.fields]}); it is on the vector column of pipe.predict(spark_df). "
                    "Select that column by name (select keeps column metadata) or attach it with "
                    "F.col(name).alias(name, metadata=nlu_lite.provenance.spark_metadata(record)).")
    raise InvalidInputError(
        "E356", f"provenance() reads a pandas or Spark DataFrame, got {type(data).__name__}; pass the result of "
                "pipe.predict(...) or of nlu_lite.provenance.read_parquet(path).")


def spark_metadata(record: Mapping) -> dict:
    """Spark ``StructField`` metadata for the vector column: ``{"nlu_lite": "<record as JSON>"}``.

    A JSON string (not nested metadata) so that every value type survives the JVM unchanged (Spark metadata
    has no mixed-type arrays) and Spark's own Parquet writer keeps it with the schema. Use it as
    ``T.StructField(column, T.ArrayType(T.FloatType()), True, metadata=spark_metadata(record))``.
    """
    return {ATTRS_KEY: json.dumps(dict(record), sort_keys=True, allow_nan=False)}
