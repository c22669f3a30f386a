"""Pure functions from wordpiece vectors to token, sentence and document vectors.

No model and no torch here: everything takes numpy arrays and returns numpy arrays, so it is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUBWORD_POOLINGS = ("first", "last", "mean", "first_last")
UNIT_POOLINGS = ("mean", "cls", "max", "mean_sqrt_len", "weightedmean", "lasttoken")
"""Sentence/document poolings, named as sentence-transformers names them: the mean, the first position, the
maximum, the sum over the square root of the length, the mean weighted by position (1, 2, ...), the last position."""


@dataclass(frozen=True)
class PieceVectors:
    """Every wordpiece's vector without a copy per wordpiece: piece ``i``'s vector is ``matrix[row[i]]``.

    The encoder writes each wordpiece's row once, in the order batches arrive, and units repeated in a chunk
    share the rows of their first occurrence; token and span pooling then gather only the rows they use, once.
    """

    matrix: np.ndarray  # (rows, dim) float32
    row: np.ndarray  # (n_wordpieces,) int64

    @classmethod
    def of(cls, vectors: np.ndarray) -> PieceVectors:
        """Dense ``(n_wordpieces, dim)`` vectors, each piece its own row."""
        return cls(vectors, np.arange(len(vectors)))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row), self.matrix.shape[1]

    def take(self, pieces: np.ndarray) -> np.ndarray:
        """The vectors of ``pieces``, a new ``(len(pieces), dim)`` array."""
        return self.matrix[self.row[pieces]]

    def select(self, pieces: np.ndarray) -> PieceVectors:
        """The vectors of ``pieces`` as a ``PieceVectors`` sharing this one's rows (no vector is copied)."""
        return PieceVectors(self.matrix, self.row[pieces])

    def columns(self, width: int) -> PieceVectors:
        """The first ``width`` dimensions (a view: nothing is copied until pooling gathers its rows)."""
        return PieceVectors(self.matrix[:, :width], self.row)

    def dense(self) -> np.ndarray:
        """Every piece's vector, ``(n_wordpieces, dim)``, in piece order."""
        return self.take(np.arange(len(self.row)))


def token_ranges(tok_begin: np.ndarray, tok_end: np.ndarray, wp_begin: np.ndarray,
                 wp_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each token, the inclusive range ``[first, last]`` of wordpieces overlapping its characters.

    All offsets share one coordinate system and both sequences are sorted. A token no wordpiece
    overlaps (characters the tokenizer drops, such as control or zero-width characters) gets
    ``first == last + 1`` (an empty range).
    """
    first = np.searchsorted(wp_end, tok_begin, side="right")
    last = np.searchsorted(wp_begin, tok_end, side="left") - 1
    last = np.maximum(last, first - 1)
    return first, last


def pool_subwords(hidden: np.ndarray | PieceVectors, first: np.ndarray, last: np.ndarray, how: str) -> np.ndarray:
    """Token vectors from the wordpiece vectors ``hidden`` (``(n_wordpieces, dim)``, or ``PieceVectors``).

    ``first``/``last``: the first/last wordpiece; ``mean``: their average; ``max``: their maximum;
    ``first_last``: the first and last concatenated (``2 * dim``, as flair does). Empty ranges get NaN.
    """
    if how not in SUBWORD_POOLINGS + ("max",):
        raise ValueError(f"unknown subword pooling {how!r}")
    take = hidden.take if isinstance(hidden, PieceVectors) else hidden.__getitem__
    filled = first <= last
    f, la = first[filled], last[filled]
    if how == "first":
        vectors = take(f)
    elif how == "last":
        vectors = take(la)
    elif how == "first_last":
        vectors = np.concatenate([take(f), take(la)], axis=1)
    else:  # mean, max: the first piece, then the k-th piece of every token that has one (most have one or two)
        counts = la - f + 1
        vectors = take(f)
        combine = np.maximum if how == "max" else np.add
        for k in range(1, int(counts.max()) if len(counts) else 0):
            longer = np.flatnonzero(counts > k)
            vectors[longer] = combine(vectors[longer], take(f[longer] + k))
        if how == "mean":
            vectors /= counts[:, None].astype(np.float32)
    return _with_empty(vectors.astype(np.float32, copy=False), filled)


PICKED_POOLINGS = ("first", "last", "first_last")
"""Subword poolings that read one or two wordpieces per token: the encoder can hand back just those."""


def picked_pieces(first: np.ndarray, last: np.ndarray, how: str) -> np.ndarray:
    """The wordpieces a ``PICKED_POOLINGS`` pooling reads, in the order ``pool_picked`` expects their vectors:
    each token's first (or last) piece; for ``first_last`` every first piece, then every last one. Tokens
    without wordpieces (``first > last``) have none."""
    filled = first <= last
    f, la = first[filled], last[filled]
    return {"first": f, "last": la, "first_last": np.concatenate([f, la])}[how]


def pool_picked(picked: np.ndarray, first: np.ndarray, last: np.ndarray, how: str) -> np.ndarray:
    """``pool_subwords(hidden, first, last, how)`` from ``picked = hidden[picked_pieces(first, last, how)]``, the
    only rows it reads: the same values, without the vectors of every wordpiece."""
    filled = first <= last
    if how == "first_last":
        n = int(filled.sum())
        picked = np.concatenate([picked[:n], picked[n:]], axis=1)
    return _with_empty(picked, filled)


def _with_empty(vectors: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """``vectors`` of the tokens that have wordpieces, with NaN rows put in for those that have none."""
    if filled.all():
        return vectors
    out = np.full((len(filled), vectors.shape[1]), np.nan, dtype=np.float32)
    out[filled] = vectors
    return out


class RowPooler:
    """Accumulates rows of encoder output into ``n`` vectors, one batch at a time.

    ``how``: ``mean``, ``max``, ``mean_sqrt_len`` (sum / sqrt(count)) or ``weightedmean`` (sum of ``weight * row``
    / sum of weights) of the rows each output owns, or ``assign`` (each output takes its one row: [CLS] or last-token
    pooling). Adding the rows batch by batch gives the same
    result as adding them at once, so only one batch of encoder output is ever held. With the rows of a
    unit being its special tokens and wordpieces, ``mean`` equals sentence-transformers' mean pooling.
    """

    def __init__(self, n: int, dim: int, how: str, owners: np.ndarray, weights: np.ndarray | None = None) -> None:
        if how not in ("mean", "max", "mean_sqrt_len", "weightedmean", "assign"):
            raise ValueError(f"unknown row pooling {how!r}")
        self.how = how
        self.out = np.full((n, dim), -np.inf, dtype=np.float32) if how == "max" else np.zeros((n, dim), np.float32)
        mass = np.bincount(owners, weights=weights, minlength=n) if len(owners) else np.zeros(n)
        if how == "mean_sqrt_len":
            mass = np.sqrt(mass)
        self.divisor = np.where(mass > 0, mass, 1.0).astype(np.float32)[:, None]

    def add(self, owners: np.ndarray, rows: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add ``rows[k]`` (times ``weights[k]`` for ``weightedmean``) to output ``owners[k]``."""
        if self.how == "assign":
            self.out[owners] = rows
            return
        if not len(owners):
            return
        if weights is not None:
            rows = rows * weights[:, None].astype(np.float32)
        order = np.argsort(owners, kind="stable")
        sorted_owners = owners[order]
        starts = np.flatnonzero(np.r_[True, sorted_owners[1:] != sorted_owners[:-1]])
        targets = sorted_owners[starts]  # unique, so the fancy-index updates below do not collide
        if self.how != "max":
            self.out[targets] += np.add.reduceat(rows[order], starts, axis=0)
        else:
            self.out[targets] = np.maximum(self.out[targets], np.maximum.reduceat(rows[order], starts, axis=0))

    def result(self) -> np.ndarray:
        return self.out if self.how in ("max", "assign") else self.out / self.divisor


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (rows of zeros stay zero), as ``torch.nn.functional.normalize``."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
