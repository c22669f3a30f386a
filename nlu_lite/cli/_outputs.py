"""Output files of the command line (.jsonl, .csv, .parquet, or JSON lines on stdout), written atomically.

The path itself is checked before any model is loaded (``paths.check_output``). ``write_output`` serialises
chunk after chunk (``predict_iter``'s frames: memory bounded by the chunk, one Parquet row group each) into a
temporary file in the same folder, flushes it to disk and renames it over the target with ``os.replace``: a
write that fails midway (disk full, file size limit, Ctrl-C, SIGTERM) leaves any previous file as it was and
no partial file behind. On stdout, JSON lines go out chunk by chunk as they are computed.

Formats: the columns in the order of the Python API, with the index (``origin_index`` or the id column) first.
Vectors are JSON lists in .jsonl and .csv (non-finite values as ``null``: JSON has no NaN) and fixed-size
float32 lists in .parquet; list- or dict-valued extra columns are JSON in .csv.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from ..errors import InvalidInputError, NluLiteError, OutputError


def parquet_types(frame: pd.DataFrame) -> dict[str, object]:
    """The arrow type of every column of ``frame``; ``InvalidInputError`` names the first Parquet cannot store."""
    import pyarrow as pa

    types = {}
    for name in frame.columns:
        try:
            types[name] = pa.Table.from_pandas(frame[[name]], preserve_index=False).schema.field(0).type
        except (pa.ArrowException, ValueError, TypeError) as e:
            kinds = sorted({type(v).__name__ for v in frame[name].tolist() if v is not None})
            raise InvalidInputError("E122",
                f"Column {name!r} cannot be written to Parquet: it mixes values of types {kinds} "
                f"({type(e).__name__}: {' '.join(str(e).split())[:120]}). Make it one type first, e.g. "
                f"df[{name!r}] = df[{name!r}].astype(str), or write .jsonl or .csv."
            ) from None
    return types


def _json_vector(vector: np.ndarray | None) -> list[float | None] | None:
    """A vector as a JSON-ready list; NaN/inf become None (JSON has no NaN)."""
    if vector is None:
        return None
    values = vector.tolist()
    if np.isfinite(vector).all():
        return values
    return [x if math.isfinite(x) else None for x in values]


def _is_nested(value: object) -> bool:
    return isinstance(value, (list, tuple, dict, np.ndarray))


def _plain(value: object) -> object:
    """A cell as a JSON-ready Python value: numpy scalars and arrays unboxed, NaN/NA as None, times as ISO text."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):  # datetime, date, Timestamp
        return value.isoformat()
    return str(value)


def _jsonl_text(frame: pd.DataFrame, columns: tuple[str, ...]) -> str:
    """One JSON object per row; floats written exactly (repr), so vectors read back bit for bit."""
    names = [str(c) for c in frame.columns]
    cells = [[_json_vector(v) for v in frame[c]] if c in columns else [_plain(v) for v in frame[c].tolist()]
             for c in frame.columns]
    return "".join(json.dumps(dict(zip(names, row)), ensure_ascii=False, allow_nan=False) + "\n"
                   for row in zip(*cells))


def _nested_columns(frame: pd.DataFrame, exclude: tuple[str, ...]) -> set[str]:
    """The object columns (other than ``exclude``) holding lists, tuples, dicts or arrays: JSON in a .csv."""
    return {name for name in frame.columns if name not in exclude and frame[name].dtype == object
            and any(_is_nested(v) for v in frame[name])}


class _JsonlSink:
    """One JSON object per row, chunk after chunk, into a text file (or stdout)."""

    binary = False

    def __init__(self, file, columns: tuple[str, ...], dim: int | None, source: pd.DataFrame | None) -> None:
        self.file, self.columns = file, columns

    def write(self, frame: pd.DataFrame) -> None:
        self.file.write(_jsonl_text(frame, self.columns))

    def close(self) -> None:
        pass


class _CsvSink:
    """CSV, the header with the first chunk; vectors and nested cells as JSON (nested: in any of ``source``'s
    rows, so that a column is JSON in every chunk or in none)."""

    binary = False

    def __init__(self, file, columns: tuple[str, ...], dim: int | None, source: pd.DataFrame | None) -> None:
        self.file, self.columns, self.header = file, columns, True
        self.nested = set() if source is None else _nested_columns(source, columns)

    def write(self, frame: pd.DataFrame) -> None:
        frame = frame.copy()
        for column in self.columns:
            frame[column] = [None if v is None else json.dumps(_json_vector(v)) for v in frame[column]]
        for name in self.nested | _nested_columns(frame, self.columns):
            frame[name] = [None if v is None else json.dumps(_plain(v), ensure_ascii=False) for v in frame[name]]
        frame.to_csv(self.file, index=False, header=self.header)
        self.header = False

    def close(self) -> None:
        pass


class _ParquetSink:
    """One row group per chunk (``provenance.ParquetChunks``: the vector column where the API has it, the record
    in the file's metadata). Every chunk gets the column types of ``source`` (else of the first chunk), so that
    they share one schema: a column empty in the first chunk is not typed by it."""

    binary = True

    def __init__(self, file, columns: tuple[str, ...], dim: int | None, source: pd.DataFrame | None) -> None:
        from ..provenance import ParquetChunks

        self.file, self.columns = file, columns
        # several models' columns: column=None, each its width from the group's record (the frames carry it)
        self.chunks = ParquetChunks(file, columns[0] if len(columns) == 1 else None, dim,
                                    types=None if source is None else parquet_types(source),
                                    preserve_index=False)  # the index is a column already

    def write(self, frame: pd.DataFrame) -> None:
        if self.chunks.types is None:  # a mixed column: E122, not pyarrow's
            self.chunks.types = parquet_types(frame.drop(columns=list(self.columns)))
        self.chunks.write(frame)

    def close(self) -> None:
        self.chunks.close()


_SINKS = {".jsonl": _JsonlSink, ".csv": _CsvSink, ".parquet": _ParquetSink}


def _new_file_mode(path: Path) -> int:
    """The mode the file would get from open(): the old file's, else 0o666 minus the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # as the shell reports a command ended by the signal: 143 for SIGTERM


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """SIGTERM raises ``SystemExit(143)`` inside the block (so ``finally`` clauses run, as on Ctrl-C); the
    previous handler is back afterwards. Only the main thread can set handlers; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _write(sink, frames: Iterable[pd.DataFrame]) -> int:
    """Each frame, its index a column, into ``sink``, which is then closed; after a failure too, quietly (the
    file is dropped; an open Parquet writer would otherwise complain when collected, after the file closed).
    Returns the number of rows written."""
    rows = 0
    try:
        for frame in frames:
            sink.write(frame.reset_index())
            rows += len(frame)
    except BaseException:
        with contextlib.suppress(Exception):
            sink.close()
        raise
    sink.close()
    return rows


def _atomic_write(path: Path, frames: Iterable[pd.DataFrame], columns: tuple[str, ...], dim: int | None,
                  source: pd.DataFrame | None) -> int:
    """Frames written one by one into a temporary file, renamed onto ``path`` at the end (returns the rows); on
    any failure (SIGTERM and Ctrl-C included) the temporary goes and ``path`` stays."""
    make = _SINKS[path.suffix]
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    temporary = Path(name)
    try:
        with _sigterm_exits():
            with open(temporary, "wb") if make.binary else open(temporary, "w", encoding="utf-8", newline="") as f:
                rows = _write(make(f, columns, dim, source), frames)
                f.flush()
                os.fsync(f.fileno())  # on disk before the rename, so a crash cannot leave an empty file
            os.chmod(temporary, _new_file_mode(path))
            os.replace(temporary, path)
        return rows
    except NluLiteError:
        raise
    except OSError as e:
        raise OutputError("E123",
            f"Writing '{path}' failed ({e.strerror or e}); the previous file there, if any, is unchanged. Free space "
            "or raise the size limit, or write elsewhere with --output."
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def write_output(frames: Iterable[pd.DataFrame], target: Path | TextIO, columns: tuple[str, ...], dim: int | None,
                 source: pd.DataFrame | None = None) -> int:
    """Write ``predict`` results (``predict_iter``'s chunks, or one frame in a list), index as the first column,
    one chunk at a time (memory bounded by the chunk): to the file ``target`` (atomically, its suffix the
    format), or as JSON lines to the text stream ``target`` (stdout).

    ``columns``: the vector columns (one per model). ``dim``: the vector width for Parquet rows without a
    vector (``None`` with several models: each column's from the frames' record). ``source``: the input columns
    the output carries (not the text), so that each is written the same way in every chunk. Returns the rows
    written.
    """
    if isinstance(target, Path):
        return _atomic_write(target, frames, columns, dim, source)
    return _write(_JsonlSink(target, columns, dim, source), frames)
