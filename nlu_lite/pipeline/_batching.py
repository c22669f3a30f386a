"""Units of text to wordpieces, windows and length-sorted batches.

A *unit* is a span of one document encoded as one sequence: a sentence (token and sentence level)
or the whole document (document level). Units longer than the model's limit are split into
overlapping *windows*; each wordpiece is *owned* by the window where it is farthest from an edge,
so every wordpiece gets exactly one vector and none is dropped. Windows are packed into batches by
a padded-token budget after sorting by length, so padding stays small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np


@dataclass(frozen=True)
class Wordpieces:
    """Wordpieces of all units of a chunk, flat; offsets are into each unit's document text."""

    ids: np.ndarray  # (n,) int64
    begin: np.ndarray  # (n,) int64
    end: np.ndarray  # (n,) int64
    unit_start: np.ndarray  # (n_units + 1,) unit u owns wordpieces [unit_start[u], unit_start[u+1])
    prompt: np.ndarray | None = None  # (n,) bool: pieces of the prompt put before each unit (None: no prompt)
    prompt_pieces: int = 0  # pieces of the prompt tokenized alone (what sentence-transformers masks)


@dataclass(frozen=True)
class Windows:
    """One row per model sequence: which unit, its content range and the part it owns."""

    unit: np.ndarray
    start: np.ndarray  # content wordpieces [start, stop) of the unit, special tokens excluded
    stop: np.ndarray
    own_start: np.ndarray  # the wordpieces [own_start, own_stop) take their vectors from this window
    own_stop: np.ndarray
    specials: int = 2  # special tokens the model's template adds around each window ([CLS] ... [SEP])

    @property
    def lengths(self) -> np.ndarray:
        """Sequence lengths including the special tokens."""
        return self.stop - self.start + self.specials


def tokenize_units(tokenizer, texts: list[str], unit_doc: np.ndarray, unit_begin: np.ndarray,
                   unit_end: np.ndarray, prompt: str = "") -> Wordpieces:
    """Wordpiece-tokenize every unit in one batched call of the fast tokenizer.

    With a ``prompt``, each unit is tokenized as ``prompt + unit text`` (as sentence-transformers does); the
    prompt's pieces are marked in ``Wordpieces.prompt`` and get zero-width offsets at the unit's start, so they
    give context but overlap no token of the text.
    """
    unit_texts = [prompt + texts[d][b:e] for d, b, e in zip(unit_doc.tolist(), unit_begin.tolist(), unit_end.tolist())]
    if not unit_texts:
        nothing = np.zeros(0, dtype=np.int64)
        return Wordpieces(ids=nothing, begin=nothing, end=nothing, unit_start=np.zeros(1, dtype=np.int64),
                          prompt=np.zeros(0, dtype=bool) if prompt else None)
    # the Rust tokenizer itself: transformers' wrapper would build a Python dict per text (as long as this step)
    backend = tokenizer.backend_tokenizer
    if backend.truncation is not None:  # as the wrapper does: no truncation (windows handle long units), no padding
        backend.no_truncation()
    if backend.padding is not None:
        backend.no_padding()
    backend.encode_special_tokens = True  # a literal "[SEP]" or "<s>" in a note is text, never a control token
    encoded = backend.encode_batch(unit_texts, add_special_tokens=False)
    counts = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(unit_texts))
    unit_start = np.zeros(len(unit_texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=unit_start[1:])
    total = int(unit_start[-1])
    ids = np.fromiter(chain.from_iterable(e.ids for e in encoded), dtype=np.int64, count=total)
    offsets = np.fromiter(chain.from_iterable(chain.from_iterable(e.offsets for e in encoded)), dtype=np.int64,
                          count=2 * total).reshape(total, 2)
    begin, end = offsets[:, 0] - len(prompt), offsets[:, 1] - len(prompt)
    in_prompt = begin < 0 if prompt else None
    if prompt:
        begin, end = np.maximum(begin, 0), np.where(in_prompt, 0, end)
    shift = np.repeat(unit_begin, counts)
    alone = len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0
    return Wordpieces(ids=ids, begin=begin + shift, end=end + shift, unit_start=unit_start, prompt=in_prompt,
                      prompt_pieces=alone)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions ``starts[k] .. starts[k] + counts[k] - 1`` of every range, concatenated."""
    total = int(counts.sum())
    return np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(total)


def select_units(wp: Wordpieces, units: np.ndarray) -> Wordpieces:
    """The wordpieces of some units (ascending positions), renumbered from 0 (the units a cache lacks)."""
    counts = np.diff(wp.unit_start)[units]
    unit_start = np.zeros(len(units) + 1, dtype=np.int64)
    np.cumsum(counts, out=unit_start[1:])
    take = ranges(wp.unit_start[units], counts)
    return Wordpieces(ids=wp.ids[take], begin=wp.begin[take], end=wp.end[take], unit_start=unit_start,
                      prompt=None if wp.prompt is None else wp.prompt[take], prompt_pieces=wp.prompt_pieces)


def plan_windows(unit_start: np.ndarray, max_content: int, specials: int = 2, overlap: float = 0.5) -> Windows:
    """Split every unit into windows of at most ``max_content`` wordpieces, each overlapping the next.

    ``overlap``: the share of a window that the next one repeats, at least (the last window ends at the unit's end,
    so it may repeat more): 0.5 (the default) starts a window every ``max_content // 2`` pieces, 0 every
    ``max_content``. Each piece's vector comes from the window that owns it, the seams lying in the middle of the
    overlaps, so a larger overlap gives every owned piece more context on both sides at the cost of encoding
    more: about ``1 / (1 - overlap)`` times the unit's wordpieces.
    ``specials``: the template's special tokens per sequence (they are not content; see ``Windows.lengths``).
    """
    if max_content < 2:
        raise ValueError(f"max_content must be at least 2, got {max_content}")
    stride = max(1, max_content - math.ceil(max_content * overlap))  # 0.5: max_content // 2
    rows: list[tuple[int, int, int, int, int]] = []
    for u, n in enumerate(np.diff(unit_start).tolist()):
        if n <= max_content:
            rows.append((u, 0, n, 0, n))
            continue
        starts = list(range(0, n - max_content, stride)) + [n - max_content]
        stops = [s + max_content for s in starts]
        # the seam between windows k and k+1 is the middle of their overlap
        seams = [(starts[k + 1] + stops[k]) // 2 for k in range(len(starts) - 1)]
        owns = [0, *seams, n]
        rows.extend((u, s, e, owns[k], owns[k + 1]) for k, (s, e) in enumerate(zip(starts, stops)))
    table = np.asarray(rows, dtype=np.int64).reshape(-1, 5)
    return Windows(*(table[:, k] for k in range(5)), specials=specials)


def plan_batches(lengths: np.ndarray, max_tokens: int, max_sequences: int,
                 max_padding: float = 0.1) -> list[np.ndarray]:
    """Group sequence indices into batches, longest first, each with padded size <= ``max_tokens``.

    A batch also closes before its padding would exceed ``max_padding`` of its padded size (the long tail
    of lengths would otherwise pad short sentences to the longest). A single sequence longer than
    ``max_tokens`` still gets a batch of its own.
    """
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    batches: list[np.ndarray] = []
    i = 0
    while i < len(order):
        width = int(sorted_lengths[i])  # the longest sequence of the batch sets its padded width
        size = max(1, min(max_sequences, max_tokens // max(width, 1), len(order) - i))
        real = np.cumsum(sorted_lengths[i:i + size])
        padded = width * np.arange(1, size + 1)
        padding = 1.0 - real / padded  # non-decreasing: lengths are sorted longest first
        size = max(1, int(np.searchsorted(padding, max_padding, side="right")))
        batches.append(order[i:i + size])
        i += size
    return batches


def layout(batches: list[np.ndarray], lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the batches' padded outputs laid end to end.

    Returns, per sequence, the row of its first position ([CLS]), and the first row of each batch
    (``n_batches + 1`` values, the last one the total).
    """
    seq_base = np.zeros(len(lengths), dtype=np.int64)
    batch_base = np.zeros(len(batches) + 1, dtype=np.int64)
    for b, batch in enumerate(batches):
        width = int(lengths[batch].max())
        seq_base[batch] = batch_base[b] + np.arange(len(batch)) * width
        batch_base[b + 1] = batch_base[b] + len(batch) * width
    return seq_base, batch_base


@dataclass(frozen=True)
class RowPlan:
    """Where each unit's pieces lie in the laid-out encoder output."""

    content: np.ndarray  # (n_wordpieces,) row of each wordpiece, taken from the window that owns it
    prefix: np.ndarray  # (n_units, n_prefix) rows of each unit's leading special tokens (its first window)
    suffix: np.ndarray  # (n_units, n_suffix) rows of each unit's trailing special tokens (its last window)


def row_plan(win: Windows, seq_base: np.ndarray, n_prefix: int) -> RowPlan:
    """Rows of every wordpiece and special token, given the windows and their sequences' first rows."""
    owned = win.own_stop - win.own_start
    # row of unit-local wordpiece p in window w: seq_base[w] + n_prefix + (p - start[w])
    local = np.arange(int(owned.sum())) - np.repeat(np.cumsum(owned) - owned, owned)
    content = np.repeat(seq_base + n_prefix - win.start + win.own_start, owned) + local
    if len(win.unit):
        is_first = np.r_[True, win.unit[1:] != win.unit[:-1]]
        is_last = np.r_[win.unit[1:] != win.unit[:-1], True]
    else:
        is_first = is_last = np.zeros(0, dtype=bool)
    n_suffix = win.specials - n_prefix
    prefix = seq_base[is_first, None] + np.arange(n_prefix)
    suffix_start = seq_base[is_last] + n_prefix + (win.stop - win.start)[is_last]
    return RowPlan(content=content, prefix=prefix, suffix=suffix_start[:, None] + np.arange(n_suffix))
