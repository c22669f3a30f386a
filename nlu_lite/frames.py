"""DataFrame assembly: pooled vectors and offsets back to rows aligned with the input."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .documents import Documents
from .errors import InvalidInputError


def _vector_column(vectors: np.ndarray, valid: np.ndarray) -> list[np.ndarray | None]:
    """One 1-D float32 array per row (views into ``vectors``), ``None`` where ``valid`` is False."""
    cells: list[np.ndarray | None] = [None] * len(valid)
    rows = iter(vectors)
    for k in np.flatnonzero(valid).tolist():
        cells[k] = next(rows)
    return cells


def assemble(docs: Documents, text_name: str, column: str, position: np.ndarray, texts: list[str | None],
             vectors: np.ndarray, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows for the units (tokens, sentences or documents) plus one null row per empty input row.

    ``position``: the input row of each unit (non-decreasing); ``texts``/``vectors``/``columns``: per unit.
    Input rows that have no unit get a row of nulls, so every input row appears in the output.
    """
    n_docs = len(docs.texts)
    covered = np.zeros(n_docs, dtype=bool)
    covered[position] = True
    missing = np.flatnonzero(~covered)
    all_position = np.concatenate([position, missing])
    order = np.argsort(all_position, kind="stable")
    valid = np.concatenate([np.ones(len(position), dtype=bool), np.zeros(len(missing), dtype=bool)])[order]
    pos = all_position[order]
    padded_texts = (texts + [docs.raw[k] if text_name == "document" else None for k in missing.tolist()])
    data: dict[str, object] = {text_name: [padded_texts[k] for k in order.tolist()]}
    for name, values in columns.items():
        full = np.concatenate([values, np.zeros(len(missing), dtype=values.dtype)])[order]
        values_or_null = pd.array(full, dtype="Int64")
        values_or_null[~valid] = pd.NA
        data[name] = values_or_null
    data[column] = _vector_column(vectors, valid)
    frame = pd.DataFrame(data, index=docs.index[pos])
    if docs.extras is not None:
        clash = sorted(set(docs.extras.columns) & set(frame.columns))
        if clash:
            raise InvalidInputError("E026",
                f"The input DataFrame has columns {clash} that nlu_lite's output also uses; rename them "
                "first, e.g. df.rename(columns={" + ", ".join(f"{c!r}: 'input_{c}'" for c in clash) + "}).")
        extras = docs.extras.iloc[pos].set_axis(frame.index)
        frame = pd.concat([frame, extras], axis=1)
    return frame
