"""Parquet files that keep the record: vectors as fixed-size float lists, the record in key-value metadata."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ._record import ATTRS_KEY

_PARQUET_COLUMN_KEY = b"nlu_lite.vector_column"


def parquet_support() -> None:
    """Raise the ImportError naming the pip line when pyarrow is missing (checked before long work)."""
    _pyarrow()


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
    flat = np.zeros((len(arrays), dim), dtype)  # one copy of the vectors, which arrow then takes without copying
    for row, a in enumerate(arrays):
        if a is not None:
            flat[row] = a
    mask = pa.array([a is None for a in arrays], pa.bool_())
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), dim, mask=mask)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, column: str | None = None,
                  dim: int | None = None) -> None:
    """Write a predict() DataFrame to Parquet with its provenance in the file's key-value metadata.

    The vector column (``column``, or the one ending in ``_embeddings``) becomes a fixed-size list of float32
    (float64 if the vectors are; null for rows without a vector); its length is the vectors' own, else ``dim``,
    else the record's ``dim`` (a frame whose rows are all empty). The index and the other columns keep their
    pandas types. A frame without provenance is written without it. ``read_parquet`` restores the frame, index
    and ``attrs``.
    """
    _, pq = _pyarrow()
    pq.write_table(parquet_table(df, column, dim), Path(path).expanduser())


def parquet_table(df: pd.DataFrame, column: str | None = None, dim: int | None = None, *,
                  types: Mapping[str, object] | None = None, preserve_index: bool | None = None):
    """The ``pyarrow.Table`` that ``write_parquet`` writes: vector column(s) and provenance metadata included.

    ``column=None`` with several models' columns (``load("a b")``): each model's vector column. ``types``:
    arrow types for some of the other columns, used instead of the ones inferred from ``df`` (so the tables of
    several chunks, written as row groups of one file, share one schema); ``preserve_index`` as
    ``pyarrow.Table.from_pandas``'s.
    """
    pa, _ = _pyarrow()
    from ..pipeline._frames import embedding_column

    record = df.attrs.get(ATTRS_KEY)
    record = record if isinstance(record, Mapping) else None
    models = record.get("models") if record else None  # a group's record: one record per vector column
    if column is None and isinstance(models, Mapping):
        names = [name for name in df.columns if name in models]
    else:
        names = [embedding_column(df, column)]
    table = pa.Table.from_pandas(df.drop(columns=names), preserve_index=preserve_index)
    for other, kind in (types or {}).items():
        position = table.schema.get_field_index(other)
        if position >= 0 and not table.schema.field(position).type.equals(kind):
            table = table.set_column(position, pa.field(other, kind), pa.array(df[other], type=kind, from_pandas=True))
    for name in names:
        facts = models.get(name, {}) if isinstance(models, Mapping) else (record or {})
        vectors = _vector_array(pa, df[name].tolist(), name, dim if dim is not None else facts.get("dim"))
        # in df's column order (earlier vector columns are back in place; index columns come last)
        table = table.add_column(list(df.columns).index(name), pa.field(name, vectors.type, nullable=True), vectors)
    meta = dict(table.schema.metadata or {})
    meta[_PARQUET_COLUMN_KEY] = ",".join(names).encode("utf-8")
    if record is not None:
        meta[ATTRS_KEY.encode()] = json.dumps(dict(record), sort_keys=True, allow_nan=False).encode("utf-8")
    return table.replace_schema_metadata(meta)


class ParquetChunks:
    """predict() frames written one by one as row groups of one Parquet file (an open binary file or a path).

    Every chunk gets the column types of the first (or ``types``), so that all share one schema: a column that
    is empty in the first chunk is cast to the type the first chunk gave it, or to ``types``' when given.
    """

    def __init__(self, file, column: str | None = None, dim: int | None = None, *,
                 types: Mapping[str, object] | None = None, preserve_index: bool = True) -> None:
        self.file, self.column, self.dim, self.types = file, column, dim, types
        self.preserve_index, self.writer, self.rows = preserve_index, None, 0

    def write(self, frame: pd.DataFrame) -> None:
        _, pq = _pyarrow()
        table = parquet_table(frame, self.column, self.dim, types=self.types, preserve_index=self.preserve_index)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.file, table.schema)
        elif not table.schema.equals(self.writer.schema):
            table = table.cast(self.writer.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_parquet_chunks(frames: Iterable[pd.DataFrame], path: str | os.PathLike, column: str | None = None,
                         dim: int | None = None) -> int:
    """Write predict() frames (``predict_iter``'s chunks) to one Parquet file, a row group per frame, as they come.

    Memory stays bounded by one frame. The file is written under a temporary name beside ``path`` and renamed
    when the last frame is in, so a failure or Ctrl-C leaves no half-written file (and an existing file at
    ``path`` untouched). The record of the first frame goes into the file's metadata, as ``write_parquet``
    does; ``read_parquet`` reads it back. Returns the number of rows written.
    """
    target = Path(path).expanduser()
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    sink = ParquetChunks(staging, column, dim)  # an index per chunk (preserve_index): not a range
    try:
        for frame in frames:
            sink.write(frame)
        if sink.writer is None:
            raise InvalidInputError("E359", "write_parquet_chunks() got no frame to write; pass predict_iter(...).")
        sink.close()
        os.replace(staging, target)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        sink.close()
        Path(staging).unlink(missing_ok=True)
        raise
    return sink.rows


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
