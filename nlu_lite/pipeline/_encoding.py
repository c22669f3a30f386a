"""Wordpieces of the units to vectors: windows, batches, the runtime's forward, and pooling as batches arrive.

Only one batch of raw encoder output is held at a time: each batch's rows are pooled into their outputs
(``pooling.RowPooler``) before the next batch runs.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..models._encoder import Encoder
from . import _batching as batching
from . import _pooling as pooling


def encode(encoder: Encoder, wp: batching.Wordpieces, *, window: int, target: str, batch_tokens: int,
           max_batch_size: int, stats: Counter, layers: tuple[int, ...] = (-1,), layer_combine: str = "mean",
           include_prompt: bool = True) -> np.ndarray:
    """Vectors of every wordpiece (``target="wordpieces"``) or of every unit (a ``pooling.UNIT_POOLINGS`` name).

    ``window``: the longest model sequence, special tokens included. Units longer than that are split into
    overlapping windows (``batching.plan_windows``); each wordpiece takes its vector from the window that owns it,
    each unit its leading special tokens from its first window and its trailing ones from its last.
    ``layers``: hidden states to use, combined by ``layer_combine`` (``mean``, or ``concat``: ``len(layers) * dim``
    wide). ``include_prompt=False``: the leading special tokens and as many pieces as the prompt has when
    tokenized alone stay out of the unit poolings, exactly as sentence-transformers masks them (with byte-level
    BPE the first piece of the text can merge with the prompt's trailing space and is then masked too).
    """
    win = batching.plan_windows(wp.unit_start, window - encoder.specials, encoder.specials)
    sequences = encoder.sequences(wp.ids, wp.unit_start, win.unit, win.start, win.stop)
    batches = batching.plan_batches(win.lengths, batch_tokens, max_batch_size)
    seq_base, batch_base = batching.layout(batches, win.lengths)
    rows = batching.row_plan(win, seq_base, len(encoder.prefix))
    n_units = len(wp.unit_start) - 1
    unit_of_piece = np.repeat(np.arange(n_units), np.diff(wp.unit_start))
    weights = None
    if target == "wordpieces":
        n_out, source, owner, how = len(rows.content), rows.content, np.arange(len(rows.content)), "assign"
    elif target == "cls":
        n_out, source, owner, how = n_units, rows.prefix[:, 0], np.arange(n_units), "assign"
    elif target == "lasttoken":  # the last real position: the last special token, else the last wordpiece
        last = rows.suffix[:, -1] if rows.suffix.shape[1] else rows.content[wp.unit_start[1:] - 1]
        n_out, source, owner, how = n_units, last, np.arange(n_units), "assign"
    else:  # mean / max / mean_sqrt_len / weightedmean over every position: special tokens and wordpieces
        n_out, how = n_units, target
        n_prefix, n_suffix = rows.prefix.shape[1], rows.suffix.shape[1]
        source = np.concatenate([rows.prefix.ravel(), rows.content, rows.suffix.ravel()])
        owner = np.concatenate([np.repeat(np.arange(n_units), n_prefix), unit_of_piece,
                                np.repeat(np.arange(n_units), n_suffix)])
        if target == "weightedmean":  # 1-based position in the unit's sequence, as sentence-transformers weighs
            piece_position = np.arange(len(unit_of_piece)) - wp.unit_start[unit_of_piece] + n_prefix + 1
            lengths = np.diff(wp.unit_start)
            weights = np.concatenate([np.tile(np.arange(1, n_prefix + 1), n_units), piece_position,
                                      (n_prefix + lengths[:, None] + np.arange(1, n_suffix + 1)).ravel()])
        if wp.prompt is not None and not include_prompt:
            in_prompt = np.arange(len(unit_of_piece)) - wp.unit_start[unit_of_piece] < wp.prompt_pieces
            keep = np.concatenate([np.zeros(n_units * n_prefix, bool), ~in_prompt, np.ones(n_units * n_suffix, bool)])
            source, owner = source[keep], owner[keep]
            weights = None if weights is None else weights[keep]
    width = encoder.dim * (len(layers) if layer_combine == "concat" else 1)
    pooler = pooling.RowPooler(n_out, width, how, owner, weights)
    order = np.argsort(source, kind="stable")
    sorted_rows = source[order]
    cuts = np.searchsorted(sorted_rows, batch_base)
    for b, hidden in enumerate(encoder.forward_batches(sequences, batches, layers)):
        pick = order[cuts[b]:cuts[b + 1]]
        picked = hidden[:, source[pick] - batch_base[b]]  # (layers, rows, dim)
        rows_out = picked.mean(0) if layer_combine == "mean" else np.concatenate(list(picked), axis=1)
        pooler.add(owner[pick], rows_out, None if weights is None else weights[pick])
    stats["wordpieces"] += int(win.lengths.sum())
    stats["padded_wordpieces"] += int(batch_base[-1])
    return pooler.result()
