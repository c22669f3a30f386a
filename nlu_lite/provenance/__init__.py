"""Provenance: which model, revision, runtime, settings and library versions made a result.

The record is a JSON-able dict built once per prediction (``collect``), carried in ``DataFrame.attrs``
(``attach``; pandas keeps attrs through filtering, ``copy``, ``reset_index``, ``merge``, and ``concat`` of frames
with equal records), written into Parquet key-value metadata (``write_parquet`` / ``read_parquet``) and into the
Spark schema metadata of the vector column (``spark_metadata``). ``provenance(df)`` reads it back from any of them.
Nothing here imports torch, transformers or spaCy: versions come from ``importlib.metadata``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import re
import sys
import types
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import InvalidInputError

__all__ = ["collect", "attach", "provenance", "resolved_revision", "write_parquet", "read_parquet",
           "spark_metadata", "FORMAT", "ATTRS_KEY", "REQUIRED_FACTS"]

FORMAT = "nlu_lite.provenance/1"
ATTRS_KEY = "nlu_lite"  # df.attrs key, Parquet key-value metadata key and Spark field metadata key
_PARQUET_COLUMN_KEY = b"nlu_lite.vector_column"
REQUIRED_FACTS = ("model", "hub_id", "revision", "source_kind", "family", "runtime", "device", "precision",
                  "compute", "window", "do_lower_case", "sentence_splitter", "column", "dim", "settings")
_DISTRIBUTIONS = {"torch": "torch", "transformers": "transformers", "tokenizers": "tokenizers", "spacy": "spacy",
                  "numpy": "numpy"}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _versions() -> dict[str, str | None]:
    """Installed versions (``None`` when a package is absent); nlu_lite's is the running code's own."""
    found: dict[str, str | None] = {"nlu_lite": __version__, "python": platform.python_version()}
    for name, dist in _DISTRIBUTIONS.items():
        try:
            found[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def collect(**facts: object) -> dict:
    """The provenance record of one prediction.

    Args:
        **facts: ``model`` (catalog name), ``hub_id``, ``revision`` (resolved: the commit hash where known, see
            ``resolved_revision``), ``source_kind`` (``folder``/``packaged``/``hf_cache``/``hub``), ``family``,
            ``runtime``, ``device``, ``precision``, ``compute`` (how that precision runs on this machine, with
            the runtime library's version, e.g. ``"openvino 2026.4.1 int8+bf16"``), ``window`` (effective
            wordpieces per sequence), ``do_lower_case``, ``sentence_splitter``, ``column`` (the vector column's
            name), ``dim`` (floats per output vector: the hidden size, times the layers concatenated, doubled by
            ``subword_pooling="first_last"``) and ``settings`` (every effective predict setting,
            ``dataclasses.asdict(settings)``); more facts are kept as given (e.g. ``requested_revision``).
            Values must be JSON values (``str(device)``, not a device).

    Returns:
        ``{"format": FORMAT, **facts, "versions": {nlu_lite, python, torch, transformers, tokenizers, spacy,
        numpy}}``, a new dict the caller may keep; equal inputs give equal records (no clock in it).
    """
    missing = [name for name in REQUIRED_FACTS if name not in facts]
    if missing:
        raise InvalidInputError(
            "E350", f"provenance.collect() lacks the facts {missing} (got {sorted(facts)}); pass all of "
                    f"{list(REQUIRED_FACTS)}, e.g. collect(..., settings=dataclasses.asdict(settings)).")
    if not isinstance(facts["settings"], Mapping):
        raise InvalidInputError("E351", f"provenance.collect(settings={facts['settings']!r}) must be a dict of "
                                "every effective setting: settings=dataclasses.asdict(settings).")
    record = {"format": FORMAT, **copy.deepcopy(facts), "versions": _versions()}
    try:
        json.dumps(record, allow_nan=False)
    except (TypeError, ValueError) as e:
        bad = {k: type(v).__name__ for k, v in facts.items() if not _is_json(v)}
        raise InvalidInputError(
            "E352", f"provenance.collect() got values that are not JSON ({bad}: {e}); pass plain values, "
                    "e.g. device=str(device), revision=str(revision).") from e
    return record


def _is_json(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def _digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


@lru_cache(maxsize=32)
def _content_revision(folder: str, stamp: tuple) -> str:
    """SHA-256 over the names and contents of the model files (memoised by their sizes and mtimes)."""
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode() + b"\0" + _digest(Path(folder) / name))
    return "sha256:" + digest.hexdigest()


def resolved_revision(folder: str | os.PathLike) -> str:
    """What exactly the model files in ``folder`` are: the hub commit hash, or a hash of their contents.

    A Hugging Face cache snapshot (``.../snapshots/<40-hex commit>``) is named by its commit, which is returned
    as is. Any other folder (``load(path=...)``, a packaged model, a ``pipe.save()`` bundle) gets
    ``"sha256:<hex>"`` of its config, tokenizer and weight files, so that a folder whose weights change in place
    gets another revision (and misses the vector cache) instead of reusing stale vectors. Hashing reads the files
    once per process (all-MiniLM-L6-v2, 92 MB: 0.4 s; later calls are free unless a file changes).
    """
    path = Path(folder).expanduser().resolve()
    unresolved = Path(folder).expanduser()
    if unresolved.parent.name == "snapshots" and _COMMIT.match(unresolved.name):
        return unresolved.name
    from ..models._sources import model_files

    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in model_files(path))
    return _content_revision(str(path), stamp)


def attach(df: pd.DataFrame, record: Mapping) -> pd.DataFrame:
    """Put ``record`` (from ``collect``) into ``df.attrs["nlu_lite"]`` (a copy); returns ``df``."""
    if not isinstance(record, Mapping) or record.get("format") != FORMAT:
        raise InvalidInputError(
            "E353", f"attach() takes a record made by provenance.collect() (format {FORMAT!r}), got "
                    f"{type(record).__name__} {str(record)[:80]!r}.")
    df.attrs[ATTRS_KEY] = copy.deepcopy(dict(record))
    return df


def _is_spark_schema(data: object) -> bool:
    return type(data).__module__.startswith("pyspark.sql") and hasattr(data, "fields")


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


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError("Parquet files need pyarrow: pip install 'nlu-lite[parquet]' (or pip install "
                          "pyarrow)") from e
    return pa, pq


def _vector_array(pa, cells: list, name: str, dim: object):
    """A FixedSizeList array of the column's vectors (1-D arrays or lists), nulls where a cell is None.

    With no vector at all, the length comes from ``dim`` (the record's); without one either, the column is a
    list of float32 that is all null (Parquet has no fixed-size list of length 0).
    """
    arrays = [None if v is None else np.asarray(v) for v in cells]
    dims = sorted({a.shape for a in arrays if a is not None})
    if len(dims) > 1 or (dims and len(dims[0]) != 1):
        raise InvalidInputError(
            "E357", f"Column {name!r} holds vectors of shapes {dims[:5]}; a Parquet vector column needs one "
                    "length (1-D). Write one model's rows per file, e.g. df[df[col].map(len) == 384].")
    if not dims and not (isinstance(dim, int) and dim > 0):
        return pa.array(arrays, type=pa.list_(pa.float32()))
    dim = dims[0][0] if dims else dim
    kinds = {a.dtype for a in arrays if a is not None}
    dtype = np.float32 if kinds <= {np.dtype(np.float32)} else np.float64  # float64 kept exactly, never narrowed
    filled = [np.zeros(dim, dtype) if a is None else a.astype(dtype, copy=False) for a in arrays]
    flat = np.concatenate(filled) if filled else np.zeros(0, dtype)
    mask = pa.array([a is None for a in arrays], pa.bool_())
    return pa.FixedSizeListArray.from_arrays(pa.array(flat), dim, mask=mask)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, column: str | None = None,
                  dim: int | None = None) -> None:
    """Write a predict() DataFrame to Parquet with its provenance in the file's key-value metadata.

    The vector column (``column``, or the one ending in ``_embeddings``) becomes a fixed-size list of float32
    (float64 if the vectors are; null for rows without a vector); its length is the vectors' own, else ``dim``,
    else the record's ``dim`` (a frame whose rows are all empty). The index and the other columns keep their
    pandas types. A frame without provenance is written without it. ``read_parquet`` restores the frame, index
    and ``attrs``.
    """
    pa, pq = _pyarrow()
    from ..pipeline._frames import embedding_column

    name = embedding_column(df, column)
    record = df.attrs.get(ATTRS_KEY)
    record = record if isinstance(record, Mapping) else None
    fallback = dim if dim is not None else (record.get("dim") if record else None)
    vectors = _vector_array(pa, df[name].tolist(), name, fallback)
    table = pa.Table.from_pandas(df.drop(columns=[name]), preserve_index=None)
    table = table.add_column(df.columns.get_loc(name), pa.field(name, vectors.type, nullable=True), vectors)
    meta = dict(table.schema.metadata or {})
    meta[_PARQUET_COLUMN_KEY] = name.encode("utf-8")
    if record is not None:
        meta[ATTRS_KEY.encode()] = json.dumps(dict(record), sort_keys=True, allow_nan=False).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), Path(path).expanduser())


def _vector_cells(array) -> list[np.ndarray | None]:
    """FixedSizeList (chunked) array to one 1-D array per row, None for null rows."""
    array = array.combine_chunks() if hasattr(array, "combine_chunks") else array
    dim = array.type.list_size
    valid = ~np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    # flatten() skips null rows' slots, so the values are laid out row by row for the valid rows only
    values = array.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim) if dim else np.zeros((valid.sum(), 0))
    cells: list[np.ndarray | None] = [None] * len(array)
    for row, k in enumerate(np.flatnonzero(valid).tolist()):
        cells[k] = values[row].copy()
    return cells


def read_parquet(path: str | os.PathLike) -> pd.DataFrame:
    """A DataFrame written by ``write_parquet`` (or the CLI), its provenance back in ``df.attrs["nlu_lite"]``.

    Fixed-size list columns come back as one 1-D numpy array per row (None for nulls), as ``predict`` returns.
    """
    _, pq = _pyarrow()
    table = pq.read_table(Path(path).expanduser())
    meta = table.schema.metadata or {}
    lists = [i for i, f in enumerate(table.schema) if str(f.type).startswith("fixed_size_list")]
    vector_columns = {table.schema.field(i).name: (i, _vector_cells(table.column(i))) for i in lists}
    frame = table.drop_columns(list(vector_columns)).to_pandas()
    for name, (position, cells) in sorted(vector_columns.items(), key=lambda item: item[1][0]):
        frame.insert(min(position, len(frame.columns)), name, cells)
    raw = meta.get(ATTRS_KEY.encode())  # authoritative over pyarrow's copy of attrs in the pandas metadata
    if raw is not None:
        try:
            frame.attrs[ATTRS_KEY] = json.loads(raw)
        except ValueError as e:
            raise InvalidInputError(
                "E358", f"'{path}' has nlu_lite provenance metadata that is not JSON ({e}): {raw[:80]!r}. The "
                        "file was changed by another tool; write it again with nlu_lite.provenance."
                        "write_parquet(df, path).") from e
    return frame


class _CallableModule(types.ModuleType):
    """This module is also the function: ``nlu_lite.provenance(df)`` beside ``nlu_lite.provenance.read_parquet``.

    (A package attribute named like a submodule is replaced by the module as soon as the submodule is imported,
    so a plain function ``nlu_lite.provenance`` would vanish the first time the pipeline imports this module.)
    """

    def __call__(self, data: object) -> dict:
        return provenance(data)


sys.modules[__name__].__class__ = _CallableModule
