"""Wordpieces of the units to vectors: windows, batches, the runtime's forward, and pooling as batches arrive.

Only one batch of raw encoder output is held at a time: each batch's rows are pooled into their outputs
(``pooling.RowPooler``) before the next batch runs.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import batching, pooling
from .encoder import Encoder


def encode(encoder: Encoder, wp: batching.Wordpieces, *, window: int, target: str, batch_tokens: int,
           max_batch_size: int, stats: Counter) -> np.ndarray:
    """Vectors of every wordpiece (``target="wordpieces"``) or of every unit (``"mean"``, ``"max"``, ``"cls"``).

    ``window``: the longest model sequence, special tokens included. Units longer than that are split into
    overlapping windows (``batching.plan_windows``); each wordpiece takes its vector from the window that owns it,
    each unit its leading special tokens from its first window and its trailing ones from its last.
    """
    win = batching.plan_windows(wp.unit_start, window - encoder.specials, encoder.specials)
    sequences = encoder.sequences(wp.ids, wp.unit_start, win.unit, win.start, win.stop)
    batches = batching.plan_batches(win.lengths, batch_tokens, max_batch_size)
    seq_base, batch_base = batching.layout(batches, win.lengths)
    rows = batching.row_plan(win, seq_base, len(encoder.prefix))
    n_units = len(wp.unit_start) - 1
    unit_of_piece = np.repeat(np.arange(n_units), np.diff(wp.unit_start))
    if target == "wordpieces":
        n_out, source, owner, how = len(rows.content), rows.content, np.arange(len(rows.content)), "assign"
    elif target == "cls":
        n_out, source, owner, how = n_units, rows.prefix[:, 0], np.arange(n_units), "assign"
    else:  # mean / max over every position of the unit: its special tokens and its wordpieces
        n_out, how = n_units, target
        source = np.concatenate([rows.prefix.ravel(), rows.content, rows.suffix.ravel()])
        owner = np.concatenate([np.repeat(np.arange(n_units), rows.prefix.shape[1]), unit_of_piece,
                                np.repeat(np.arange(n_units), rows.suffix.shape[1])])
    pooler = pooling.RowPooler(n_out, encoder.dim, how, owner)
    order = np.argsort(source, kind="stable")
    sorted_rows = source[order]
    cuts = np.searchsorted(sorted_rows, batch_base)
    for b, hidden in enumerate(encoder.forward_batches(sequences, batches)):
        pick = slice(cuts[b], cuts[b + 1])
        pooler.add(owner[order[pick]], hidden[0][sorted_rows[pick] - batch_base[b]])
    stats["wordpieces"] += int(win.lengths.sum())
    stats["padded_wordpieces"] += int(batch_base[-1])
    return pooler.result()
