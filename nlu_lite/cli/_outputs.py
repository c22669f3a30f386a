"""Output files of the command line (.jsonl, .csv, .parquet, or JSON lines on stdout), written atomically.

The path itself is checked before any model is loaded (``paths.check_output``). ``write_output`` serialises
into a temporary file in the same folder, flushes it to disk and renames it over the target with
``os.replace``: a write that fails midway (disk full, file size limit, Ctrl-C) leaves any previous file as it
was and no partial file behind.

Formats: the columns in the order of the Python API, with the index (``origin_index`` or the id column) first.
Vectors are JSON lists in .jsonl and .csv (non-finite values as ``null``: JSON has no NaN) and fixed-size
float32 lists in .parquet; list- or dict-valued extra columns are JSON in .csv.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InvalidInputError, OutputError


def check_parquet_columns(frame: pd.DataFrame, exclude: str) -> None:
    """Raise ``InvalidInputError`` naming the first column (other than ``exclude``) Parquet cannot store."""
    import pyarrow as pa

    for name in frame.columns:
        if name == exclude:
            continue
        try:
            pa.Table.from_pandas(frame[[name]], preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as e:
            kinds = sorted({type(v).__name__ for v in frame[name].tolist() if v is not None})
            raise InvalidInputError("E122",
                f"Column {name!r} cannot be written to Parquet: it mixes values of types {kinds} "
                f"({type(e).__name__}: {' '.join(str(e).split())[:120]}). Make it one type first, e.g. "
                f"df[{name!r}] = df[{name!r}].astype(str), or write .jsonl or .csv."
            ) from None


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


def _jsonl_text(frame: pd.DataFrame, column: str) -> str:
    """One JSON object per row; floats written exactly (repr), so vectors read back bit for bit."""
    names = [str(c) for c in frame.columns]
    cells = [[_json_vector(v) for v in frame[c]] if c == column else [_plain(v) for v in frame[c].tolist()]
             for c in frame.columns]
    return "".join(json.dumps(dict(zip(names, row)), ensure_ascii=False, allow_nan=False) + "\n"
                   for row in zip(*cells))


def _write_jsonl(frame: pd.DataFrame, target: Path, column: str, dim: int) -> None:
    with open(target, "w", encoding="utf-8", newline="") as f:
        f.write(_jsonl_text(frame, column))


def _write_csv(frame: pd.DataFrame, target: Path, column: str, dim: int) -> None:
    frame = frame.copy()
    frame[column] = [None if v is None else json.dumps(_json_vector(v)) for v in frame[column]]
    for name in frame.columns:
        if name != column and frame[name].dtype == object and any(_is_nested(v) for v in frame[name]):
            frame[name] = [None if v is None else json.dumps(_plain(v), ensure_ascii=False) for v in frame[name]]
    frame.to_csv(target, index=False)


def _write_parquet(frame: pd.DataFrame, target: Path, column: str, dim: int) -> None:
    """Parquet with the vector column where the API has it and the provenance record in the file's metadata."""
    from ..provenance import write_parquet

    check_parquet_columns(frame, exclude=column)
    write_parquet(frame, target, column, dim)


_WRITERS: dict[str, Callable[[pd.DataFrame, Path, str, int], None]] = {
    ".jsonl": _write_jsonl, ".csv": _write_csv, ".parquet": _write_parquet}


def _new_file_mode(path: Path) -> int:
    """The mode the file would get from open(): the old file's, else 0o666 minus the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(temporary)`` then rename it onto ``path``; on any failure the temporary goes and ``path`` stays."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        with open(temporary, "rb+") as f:  # on disk before the rename, so a crash cannot leave an empty file
            os.fsync(f.fileno())
        os.chmod(temporary, _new_file_mode(path))
        os.replace(temporary, path)
    except OSError as e:
        raise OutputError("E123",
            f"Writing '{path}' failed ({e.strerror or e}); the previous file there, if any, is unchanged. Free space "
            "or raise the size limit, or write elsewhere with --output."
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def write_output(frame: pd.DataFrame, path: Path | None, column: str, dim: int) -> None:
    """Write a ``predict`` result (index as the first column) to ``path``, or as JSON lines to stdout.

    ``dim``: the vector width for a Parquet file whose rows are all empty (otherwise read from the vectors).
    """
    frame = frame.reset_index()
    if path is None:
        sys.stdout.write(_jsonl_text(frame, column))
        return
    _atomic_write(path, lambda temporary: _WRITERS[path.suffix](frame, temporary, column, dim))
