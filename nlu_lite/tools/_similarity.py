"""Cosine similarity between rows of predict() frames: a labelled matrix (``similarity``) and a blocked top-k
search (``nearest``).

Cosine is computed from the vectors as they are (each row divided by its own norm), so it is right whether
or not the pipeline normalised them. Rows without a usable vector (null, NaN or all zeros) are left out, never
matched, and reported in one ``NullVectorWarning`` per call. ``nearest`` never holds the full query × corpus
matrix: it multiplies blocks of about ``block_bytes`` and keeps a running top-k per query, so its working
memory stays bounded (measured in ``benchmarks/nearest.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import levels
from ..errors import InvalidInputError, InvalidOptionError
from ..pipeline._frames import embedding_column, to_numpy
from ._quantize import quantized

if TYPE_CHECKING:
    from ..pipeline._pipeline import Pipeline

BLOCK_BYTES = 64 * 2**20


class NullVectorWarning(UserWarning):
    """Rows without a usable vector (null, NaN or all zeros) were left out of a similarity computation."""


class SearchIndex:
    """A corpus ``nearest`` searches through its ``search(queries, k, pipe=, column=)``: ``_index.VectorIndex``."""

    def search(self, queries: object, k: int = 5, *, pipe: Pipeline | None = None,
               column: str | None = None) -> pd.DataFrame:
        raise NotImplementedError


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its vectors and, for frames, the columns that identify and show its rows."""

    vectors: np.ndarray  # (n, dim), as given for arrays (not copied)
    frame: pd.DataFrame | None
    ids: dict[str, object]  # name -> Index or array, one value per row; take()-able
    text: str | None  # name of the text column, if any


def _is_texts(data: object) -> bool:
    if isinstance(data, (str, list, tuple, pd.Series)):
        return True
    return isinstance(data, np.ndarray) and data.ndim == 1 and not np.issubdtype(data.dtype, np.number)


def side_of(data: object, pipe: Pipeline | None, column: str | None, role: str) -> Side:
    """Vectors and identifying columns of a predict() frame, an ``(n, dim)`` array, or texts embedded by ``pipe``."""
    if isinstance(data, np.ndarray) and data.ndim == 2:
        if not np.issubdtype(data.dtype, np.number):
            raise InvalidInputError(
                "E203", f"{role} is a {data.dtype} array; pass an (n, dim) numeric array, e.g. "
                        f"np.asarray(x, dtype=np.float32), or a predict() DataFrame.")
        if data.dtype in (np.int8, np.uint8):
            raise InvalidInputError(
                "E537", f"{role} is an {data.dtype} array: quantized codes, whose cosine means nothing; pass the "
                        "float vectors, and to search compact codes build nlu_lite.index(vectors, quantize='int8').")
        return Side(data, None, {}, None)
    if _is_texts(data):
        if pipe is None:
            raise InvalidInputError(
                "E204", f"{role} are texts ({type(data).__name__}), so they must be embedded first: pass the "
                        f"pipeline, e.g. nearest(['chest pain'], corpus_df, pipe=pipe).")
        data = pipe.predict([data] if isinstance(data, str) else data, output_level="document")
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(
            "E205", f"{role} is a {type(data).__name__}; pass a predict() DataFrame, an (n, dim) numpy array, or "
                    f"texts with pipe=pipe.")
    name = embedding_column(data, column)
    if quantized(data, name) is not None:
        raise InvalidInputError(
            "E538", f"{role}'s column {name!r} holds {quantized(data, name)['precision']} codes from "
                    "nlu_lite.quantize(); search the float vectors, or build nlu_lite.index(vectors, "
                    f"quantize={quantized(data, name)['precision']!r}) to search codes and rescore.")
    index = data.index
    ids: dict[str, object] = {
        level_name or ("index" if index.nlevels == 1 else f"level_{level}"): index.get_level_values(level)
        for level, level_name in enumerate(index.names)}
    ids.update({c: data[c].array for c in levels.row_id_columns() if c in data.columns})
    text = next((c for c in levels.text_columns() if c in data.columns), None)
    return Side(to_numpy(data, name), data, ids, text)


def _check_dims(left: Side, right: Side) -> None:
    a, b = left.vectors.shape[1], right.vectors.shape[1]
    if a and b and a != b:
        raise InvalidInputError(
            "E206", f"The two sides have vectors of {a} and {b} dimensions; compare vectors of one model "
                    f"(embed both with the same pipeline).")


def row_norms(vectors: np.ndarray, rows_per_block: int) -> np.ndarray:
    """L2 norm of every row (float64, NaN/inf where a value is), computed in blocks to avoid a full copy."""
    norms = np.empty(len(vectors), dtype=np.float64)
    for start in range(0, len(vectors), rows_per_block):
        block = np.asarray(vectors[start:start + rows_per_block], dtype=np.float64)
        norms[start:start + len(block)] = np.sqrt(np.einsum("ij,ij->i", block, block))
    return norms


def usable_by_norm(norms: np.ndarray) -> np.ndarray:
    """Rows with a usable vector: a finite, non-zero norm."""
    return np.isfinite(norms) & (norms > 0)


def unit_blocks(vectors: np.ndarray, usable: np.ndarray, norms: np.ndarray,
                 rows_per_block: int = 65536) -> Iterator[np.ndarray]:
    """The usable rows scaled to unit length, float32, block by block (no float64 copy of the whole)."""
    rows = np.flatnonzero(usable)
    for start in range(0, len(rows), rows_per_block):
        pick = rows[start:start + rows_per_block]
        yield (vectors[pick] / norms[pick, None]).astype(np.float32)


def unit_rows(vectors: np.ndarray, usable: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """The usable rows scaled to unit length, as a float32 copy."""
    out = np.empty((int(np.count_nonzero(usable)), vectors.shape[1]), dtype=np.float32)
    start = 0
    for block in unit_blocks(vectors, usable, norms):
        out[start:start + len(block)] = block
        start += len(block)
    return out


def report_skipped(where: str, sides: list[tuple[str, np.ndarray]]) -> dict[str, int]:
    """One warning naming how many rows of each side had no usable vector; returns the counts."""
    counts = {role: int((~usable).sum()) for role, usable in sides}  # role: "query rows", "rows of a" ...
    parts = []
    for role, usable in sides:
        if counts[role]:
            first = np.flatnonzero(~usable)[:5].tolist()
            parts.append(f"{counts[role]} of {len(usable)} {role} (positions {first}"
                         f"{' ...' if counts[role] > 5 else ''})")
    if parts:
        warnings.warn(
            f"{where}: {' and '.join(parts)} have no usable vector (null, NaN or all zeros, e.g. empty texts); "
            "they are left out and never matched. Keep rows with vectors first to silence this, e.g. "
            "df[df[pipe.column_name].notna()].", NullVectorWarning, stacklevel=3)
    return counts


def _labels(side: Side, label: str | None, usable: np.ndarray) -> pd.Index:
    """Row labels of one side's usable rows: ``label``'s values, else the text column, else the index."""
    rows = np.flatnonzero(usable)
    if side.frame is None:
        return pd.Index(rows, name="row")
    frame = side.frame
    if label is None:
        label = side.text
    if label is None:
        return frame.index.take(rows)
    if label in frame.columns:
        return pd.Index(frame[label].array.take(rows), name=label)
    if label in frame.index.names:
        return frame.index.get_level_values(label).take(rows)
    raise InvalidInputError(
        "E207", f"label={label!r} is not a column or index level of the DataFrame; its columns are "
                f"{list(frame.columns)}, e.g. label={side.text or frame.columns[0]!r}.")


def similarity(a: object, b: object | None = None, *, pipe: Pipeline | None = None, column: str | None = None,
               label: str | None = None) -> pd.DataFrame:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (default: ``a`` itself).

    Args:
        a, b: predict() DataFrames of any level, ``(n, dim)`` arrays, or texts (with ``pipe``; embedded as documents).
        pipe: the pipeline that embeds text inputs.
        column: the vector column, if a frame has several.
        label: the column (or index level) whose values label rows and columns; default: the text column
            (``token``, ``sentence``, ``document``), else the index; array rows are labelled by position.

    Returns:
        A float32 DataFrame, rows = ``a``'s usable rows, columns = ``b``'s, values in [-1, 1]. Rows without a
        usable vector are left out and reported in one ``NullVectorWarning``.
    """
    left = side_of(a, pipe, column, "a")
    right = left if b is None else side_of(b, pipe, column, "b")
    _check_dims(left, right)
    norms_a = row_norms(left.vectors, 65536)
    usable_a = usable_by_norm(norms_a)
    norms_b = norms_a if b is None else row_norms(right.vectors, 65536)
    usable_b = usable_a if b is None else usable_by_norm(norms_b)
    report_skipped("similarity()", [("rows of a", usable_a)] + ([("rows of b", usable_b)] if b is not None else []))
    unit_a = unit_rows(left.vectors, usable_a, norms_a)
    unit_b = unit_a if b is None else unit_rows(right.vectors, usable_b, norms_b)
    matrix = np.clip(unit_a @ unit_b.T, -1.0, 1.0)
    return pd.DataFrame(matrix, index=_labels(left, label, usable_a), columns=_labels(right, label, usable_b))


def _merge_block(scores: np.ndarray, offset: int, best_scores: np.ndarray, best_rows: np.ndarray) -> None:
    """Fold one block of scores (queries × corpus rows from ``offset``) into the running top-k, in place.

    Order: score descending, then corpus position ascending (ties go to the earlier row). Unusable corpus rows
    score ``-inf`` and never enter.
    """
    n_queries, k = best_scores.shape
    candidate = scores > best_scores[:, -1:]  # later rows lose ties with the current k-th best
    if np.count_nonzero(candidate) > 4 * k * n_queries and scores.shape[1] > k:  # first blocks: the block's top k
        cut = scores.shape[1] - k
        kth = np.partition(scores, cut, axis=1)[:, cut:cut + 1]  # each query's k-th largest in the block
        candidate &= scores >= kth
    rows, cols = np.divmod(np.flatnonzero(candidate), scores.shape[1])  # 1-D flatnonzero: ~8x faster than 2-D
    if not rows.size:
        return
    all_rows = np.concatenate([np.repeat(np.arange(n_queries), k), rows])
    all_scores = np.concatenate([best_scores.ravel(), scores[rows, cols]])
    all_positions = np.concatenate([best_rows.ravel(), cols.astype(np.int64) + offset])
    order = np.lexsort((all_positions, -all_scores, all_rows))
    sorted_rows = all_rows[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_rows, sorted_rows, side="left")
    keep = rank < k
    best_scores[sorted_rows[keep], rank[keep]] = all_scores[order][keep]
    best_rows[sorted_rows[keep], rank[keep]] = all_positions[order][keep]


def top_k(unit_queries: np.ndarray, corpus: np.ndarray, norms: np.ndarray, k: int,
          block_bytes: int = BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar corpus rows of each unit-length query, by blocked matrix products.

    Args:
        unit_queries: ``(q, dim)`` float32 rows of length 1.
        corpus: ``(n, dim)`` array, any float dtype, not copied (each block is converted to float32 on its own).
        norms: the corpus row norms; rows whose norm is not finite and positive are never returned.
        k: how many neighbours per query.
        block_bytes: size of one block of scores; working memory is a small multiple of it.

    Returns:
        ``(scores, positions)``, both ``(q, k)``: float32 cosines in descending order (ties: lower position
        first) and int64 corpus positions; padded with ``-inf`` / ``-1`` where fewer than ``k`` rows are usable.
    """
    n_queries, n_corpus = len(unit_queries), len(corpus)
    best_scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
    best_rows = np.full((n_queries, k), -1, dtype=np.int64)
    usable = usable_by_norm(norms)
    divisor = np.where(usable, norms, 1.0).astype(np.float32)
    query_block = max(1, min(n_queries, block_bytes // (4 * 1024)))  # at least 1,024 corpus rows per block
    for q0 in range(0, n_queries, query_block):
        queries = unit_queries[q0:q0 + query_block]
        corpus_block = max(1, block_bytes // (4 * len(queries)))
        for c0 in range(0, n_corpus, corpus_block):
            part = corpus[c0:c0 + corpus_block]
            unit = (part / divisor[c0:c0 + len(part), None]).astype(np.float32, copy=False)  # a new array
            bad = ~usable[c0:c0 + len(part)]
            unit[bad] = 0.0  # NaN/inf rows out of the product; their scores are set to -inf below
            scores = queries @ unit.T
            if bad.any():
                scores[:, bad] = -np.inf
            _merge_block(scores, c0, best_scores[q0:q0 + query_block], best_rows[q0:q0 + query_block])
    np.clip(best_scores, -1.0, 1.0, out=best_scores, where=best_rows >= 0)
    return best_scores, best_rows


def _take(values: object, positions: np.ndarray) -> object:
    return values.take(positions) if hasattr(values, "take") else np.asarray(values)[positions]


def nearest(queries: object, corpus: object, k: int = 5, *, pipe: Pipeline | None = None, column: str | None = None,
            block_bytes: int = BLOCK_BYTES) -> pd.DataFrame:
    """The ``k`` corpus rows most cosine-similar to each query row, as one DataFrame.

    Args:
        queries, corpus: predict() DataFrames of any level (or aggregate() results), ``(n, dim)`` arrays, or texts
            with ``pipe`` (embedded as documents): ``nearest(["chest pain"], sentences, pipe=pipe)``. ``corpus``
            may also be a ``VectorIndex`` built once by ``nlu_lite.index(corpus)`` (FAISS: exact, HNSW or
            quantized), searched instead of the numpy scan.
        k: neighbours per query; a corpus with fewer usable rows gives them all.
        pipe: the pipeline that embeds text inputs.
        column: the vector column, if a frame has several.
        block_bytes: size of one block of scores (default 64 MiB); memory stays a small multiple of it.

    Returns:
        One row per (query, neighbour), ordered by query then ``rank`` (1 = most similar; equal scores rank the
        earlier corpus row first): ``query_row`` and ``corpus_row`` (0-based positions in the inputs), each
        side's index, ``sentence_id``, ``begin`` and ``end`` (where present) as ``query_<name>`` /
        ``corpus_<name>`` (``query_origin_index``, ``corpus_sentence_id`` ...), its text as
        ``query_<text column>`` / ``corpus_<text column>``, ``score`` (float32 cosine) and ``rank``. Join back
        with one merge, e.g. ``hits.merge(sentences, left_on=["corpus_origin_index", "corpus_sentence_id"],
        right_on=["origin_index", "sentence_id"])``.
        Rows without a usable vector are left out (no output rows, never matched), reported in one
        ``NullVectorWarning`` and counted in ``result.attrs["skipped"]``.
    """
    check_k(k)
    if isinstance(corpus, SearchIndex):
        return corpus.search(queries, k, pipe=pipe, column=column)
    if isinstance(block_bytes, bool) or not isinstance(block_bytes, (int, np.integer)) or block_bytes < 4096:
        raise InvalidOptionError(
            "E209", f"block_bytes={block_bytes!r} must be an integer of at least 4096, e.g. block_bytes=64 * 2**20.")
    query_side = side_of(queries, pipe, column, "queries")
    corpus_side = side_of(corpus, pipe, column, "corpus")
    _check_dims(query_side, corpus_side)
    rows_per_block = max(1, block_bytes // (8 * max(1, corpus_side.vectors.shape[1])))
    query_norms = row_norms(query_side.vectors, rows_per_block)
    corpus_norms = row_norms(corpus_side.vectors, rows_per_block)
    query_ok = usable_by_norm(query_norms)
    counts = report_skipped("nearest()", [("query rows", query_ok), ("corpus rows", usable_by_norm(corpus_norms))])
    query_rows = np.flatnonzero(query_ok)
    if query_side.vectors.shape[1] == 0 or corpus_side.vectors.shape[1] == 0:
        scores, positions = np.empty((0, int(k)), np.float32), np.empty((0, int(k)), np.int64)
        query_rows = query_rows[:0]
    else:
        unit = unit_rows(query_side.vectors, query_ok, query_norms)
        scores, positions = top_k(unit, corpus_side.vectors, corpus_norms, int(k), block_bytes)
    result = hits_frame(query_side, query_rows, corpus_side, scores, positions)
    result.attrs["skipped"] = {"query": counts["query rows"], "corpus": counts["corpus rows"]}
    return result


def check_k(k: object) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidOptionError("E208", f"k={k!r} must be a positive integer, e.g. nearest(queries, corpus, k=5).")


def hits_frame(query_side: Side, query_rows: np.ndarray, corpus_side: Side, scores: np.ndarray,
               positions: np.ndarray) -> pd.DataFrame:
    """``nearest``'s frame from each usable query's ``(q, k)`` scores and corpus positions (``-1``: no hit)."""
    hit_query, hit_rank = np.nonzero(positions >= 0)
    query_pos, corpus_pos = query_rows[hit_query], positions[hit_query, hit_rank]
    out: dict[str, object] = {}
    for prefix, side, pos in (("query", query_side, query_pos), ("corpus", corpus_side, corpus_pos)):
        out[f"{prefix}_row"] = pos
        for name, values in side.ids.items():
            out[f"{prefix}_{name}"] = _take(values, pos)
        if side.text is not None:
            out[f"{prefix}_{side.text}"] = side.frame[side.text].array.take(pos)
    out["score"] = scores[hit_query, hit_rank]
    out["rank"] = hit_rank.astype(np.int64) + 1
    return pd.DataFrame(out)
