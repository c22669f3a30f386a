"""DataFrame assembly: a level's rows back to a DataFrame aligned with the input; and the vectors back out of one.

The columns and their kinds come from the level (``Level.output_columns``), as for the Spark schema and the CLI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..levels import Level, Rows
from ._documents import Documents

# pandas 3 stores text as its "str" dtype (NaN for missing); pandas 2 as object (None for missing)
_TEXT_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def _vector_column(vectors: np.ndarray, valid: np.ndarray) -> list[np.ndarray | None]:
    """One 1-D float32 array per row (views into ``vectors``), ``None`` where ``valid`` is False."""
    cells: list[np.ndarray | None] = [None] * len(valid)
    rows = iter(vectors)
    for k in np.flatnonzero(valid).tolist():
        cells[k] = next(rows)
    return cells


def assemble(docs: Documents, level: Level, vector_column: str, present: np.ndarray, texts: list[str],
             rows: Rows, positions: bool) -> pd.DataFrame:
    """The rows (tokens, sentences, documents ...) plus one null row per input row that has none.

    ``present``: the chunk position of each non-empty text in ``texts``; ``rows.doc`` indexes ``texts``.
    Every input row appears in the output, in input order.
    """
    position = present[rows.doc]
    covered = np.zeros(len(docs.texts), dtype=bool)
    covered[position] = True
    missing = np.flatnonzero(~covered)
    all_position = np.concatenate([position, missing])
    order = np.argsort(all_position, kind="stable")
    valid = np.concatenate([np.ones(len(position), dtype=bool), np.zeros(len(missing), dtype=bool)])[order]
    pos = all_position[order]
    pieces = [texts[d][b:e] for d, b, e in zip(rows.doc.tolist(), rows.begin.tolist(), rows.end.tolist())]
    # a document-level row of an empty input shows the input as given ("" or "   "); other levels null
    empty_text = [docs.raw[k] if level.text_column == "document" and isinstance(docs.raw[k], str) else None
                  for k in missing.tolist()]
    padded = pieces + empty_text
    values = {**rows.columns, level.text_column: padded, "begin": rows.begin, "end": rows.end}
    data: dict[str, object] = {}
    for name, kind in level.output_columns(positions, vector_column):
        if kind == "string":
            cells = list(values[name]) + ([] if name == level.text_column else [None] * len(missing))
            data[name] = pd.array([cells[k] for k in order.tolist()], dtype=_TEXT_DTYPE)
        elif kind == "int64":
            full = np.concatenate([np.asarray(values[name], dtype=np.int64), np.zeros(len(missing), np.int64)])[order]
            column = pd.array(full, dtype="Int64")
            column[~valid] = pd.NA
            data[name] = column
        else:
            data[name] = _vector_column(rows.vectors, valid)
    frame = pd.DataFrame(data, index=docs.index[pos])
    if docs.extras is not None:
        clash = sorted(set(docs.extras.columns) & set(frame.columns))
        if clash:
            raise InvalidInputError(
                "E026", f"The input DataFrame has columns {clash} that nlu_lite's output also uses; rename them "
                "first, e.g. df.rename(columns={" + ", ".join(f"{c!r}: 'input_{c}'" for c in clash) + "}).")
        extras = docs.extras.iloc[pos].set_axis(frame.index)
        frame = pd.concat([frame, extras], axis=1)
    return frame


def embedding_column(frame: pd.DataFrame, column: str | None = None) -> str:
    """The name of the embedding column: ``column`` if given, else the one column ending in ``_embeddings``."""
    if column is not None:
        if column not in frame.columns:
            raise InvalidInputError("E023",
                f"Column {column!r} is not in the DataFrame; its columns are {list(frame.columns)}.")
        return column
    found = [c for c in frame.columns if str(c).endswith("_embeddings")]
    if len(found) != 1:
        raise InvalidInputError("E024",
            f"Expected exactly one column ending in '_embeddings', found {found}; name it with column='...'.")
    return found[0]


def usable_rows(vectors: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of an ``(n, dim)`` matrix that hold a vector: every value finite, ``dim > 0``."""
    if vectors.shape[1] == 0:
        return np.zeros(len(vectors), dtype=bool)
    return np.isfinite(vectors).all(axis=1)


def to_numpy(frame: pd.DataFrame, column: str | None = None) -> np.ndarray:
    """An ``(n_rows, dim)`` float32 matrix of a predict() DataFrame's vectors, aligned with its rows.

    Rows whose embedding is null (empty inputs) are NaN rows, so row ``k`` of the matrix is always row ``k``
    of the DataFrame.
    """
    name = embedding_column(frame, column)
    cells = frame[name].to_list()
    dims = {len(v) for v in cells if v is not None}
    if len(dims) > 1:
        raise InvalidInputError(
            "E025", f"Column {name!r} mixes vector lengths {sorted(dims)}; select one model's rows.")
    dim = dims.pop() if dims else 0
    out = np.full((len(cells), dim), np.nan, dtype=np.float32)
    for k, v in enumerate(cells):
        if v is not None:
            out[k] = v
    return out
