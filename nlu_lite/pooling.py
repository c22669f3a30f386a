"""Pure functions from wordpiece vectors to token, sentence and document vectors.

No model here: everything takes arrays and returns arrays, so it is tested on its own.
"""

from __future__ import annotations

import numpy as np
import torch

SUBWORD_POOLINGS = ("first", "last", "mean", "first_last")
UNIT_POOLINGS = ("mean", "cls", "max")


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


def pool_subwords(hidden: torch.Tensor, first: np.ndarray, last: np.ndarray, how: str) -> torch.Tensor:
    """Token vectors from the wordpiece vectors ``hidden[(n_wordpieces, dim)]``.

    ``first``/``last``: the first/last wordpiece; ``mean``: their average; ``first_last``: the first and
    last concatenated (``2 * dim``, as flair does). Tokens with an empty range get NaN.
    """
    n, dim = len(first), hidden.shape[1]
    empty = torch.from_numpy(first > last)
    width = 2 * dim if how == "first_last" else dim
    if n == 0:
        return torch.zeros((0, width), dtype=hidden.dtype)
    safe_first = torch.from_numpy(np.minimum(first, max(len(hidden) - 1, 0)))
    safe_last = torch.from_numpy(np.clip(last, 0, max(len(hidden) - 1, 0)))
    if len(hidden) == 0:
        return torch.full((n, width), float("nan"))
    if how == "first":
        out = hidden[safe_first]
    elif how == "last":
        out = hidden[safe_last]
    elif how == "first_last":
        out = torch.cat([hidden[safe_first], hidden[safe_last]], dim=1)
    elif how == "mean":
        counts = np.maximum(last - first + 1, 0)
        owner = torch.from_numpy(np.repeat(np.arange(n), counts))
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = torch.from_numpy(np.repeat(first, counts) + offsets)
        out = torch.zeros((n, dim), dtype=hidden.dtype).index_add_(0, owner, hidden[rows])
        out /= torch.from_numpy(np.maximum(counts, 1)).to(hidden.dtype).unsqueeze(1)
    else:
        raise ValueError(f"unknown subword pooling {how!r}")
    out[empty] = float("nan")
    return out


class RowPooler:
    """Accumulates rows of encoder output into ``n`` vectors, one batch at a time.

    ``how``: ``mean`` or ``max`` of the rows each output owns, or ``assign`` (each output takes its one row:
    [CLS] pooling, or wordpieces gathered for token pooling). Adding the rows batch by batch gives the same
    result as adding them at once, so only one batch of encoder output is ever held. With the rows of a
    unit being its [CLS], its wordpieces and its [SEP], ``mean`` equals sentence-transformers' mean pooling.
    """

    def __init__(self, n: int, dim: int, how: str, owners: np.ndarray) -> None:
        if how not in ("mean", "max", "assign"):
            raise ValueError(f"unknown row pooling {how!r}")
        self.how = how
        fill = float("-inf") if how == "max" else 0.0
        self.out = torch.full((n, dim), fill, dtype=torch.float32)
        counts = np.bincount(owners, minlength=n) if len(owners) else np.zeros(n, dtype=np.int64)
        self.counts = torch.from_numpy(np.maximum(counts, 1)).to(torch.float32).unsqueeze(1)

    def add(self, owners: np.ndarray, rows: torch.Tensor) -> None:
        """Add ``rows[k]`` to output ``owners[k]``."""
        index = torch.from_numpy(owners)
        if self.how == "assign":
            self.out[index] = rows
        elif self.how == "mean":
            self.out.index_add_(0, index, rows)
        else:
            self.out.scatter_reduce_(0, index.unsqueeze(1).expand_as(rows), rows, "amax", include_self=True)

    def result(self) -> torch.Tensor:
        return self.out / self.counts if self.how == "mean" else self.out


def l2_normalize(vectors: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length (rows of zeros stay zero), as ``torch.nn.functional.normalize``."""
    return torch.nn.functional.normalize(vectors, p=2.0, dim=1)
