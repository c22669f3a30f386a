"""Units to vectors: each distinct unit once (from the cache where it has it), then windows, batches, the
runtime's forward, and pooling as batches arrive.

Only one batch of raw encoder output is held at a time. Each batch's rows are pooled into their outputs
(``pooling.RowPooler``) before the next batch runs; for token and span level, the rows of the wordpieces each
window owns are copied once into one matrix (``pooling.PieceVectors``, which repeated units share), or, where
the level reads only some wordpieces (``Level.pieces``: a token's first), just those rows, in the level's order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from ..cache import VectorCache, get_or_compute, key
from ..errors import ModelLoadError
from ..models._encoder import Encoder
from . import _batching as batching
from . import _pooling as pooling


def encode(encoder: Encoder, wp: batching.Wordpieces, *, window: int, target: str, batch_tokens: int,
           max_batch_size: int, stats: Counter, layers: tuple[int, ...] = (-1,), layer_combine: str = "mean",
           include_prompt: bool = True, window_overlap: float = 0.5,
           pieces: np.ndarray | None = None) -> np.ndarray | pooling.PieceVectors:
    """Vectors of every wordpiece (``target="wordpieces"``: a ``pooling.PieceVectors``), of the wordpieces
    ``pieces`` only (``target="wordpieces"`` with ``pieces``: row ``k`` is piece ``pieces[k]``'s vector), or of
    every unit (a ``pooling.UNIT_POOLINGS`` name). Arrays are ``(rows, width)``.

    ``window``: the longest model sequence, special tokens included. Units longer than that are split into
    windows overlapping by ``window_overlap`` (``batching.plan_windows``); each wordpiece takes its vector from the
    window that owns it,
    each unit its leading special tokens from its first window and its trailing ones from its last.
    ``layers``: hidden states to use, combined by ``layer_combine`` (``mean``, or ``concat``: ``len(layers) * dim``
    wide). ``include_prompt=False``: the leading special tokens and as many pieces as the prompt has when
    tokenized alone stay out of the unit poolings, exactly as sentence-transformers masks them (with byte-level
    BPE the first piece of the text can merge with the prompt's trailing space and is then masked too).
    """
    win = batching.plan_windows(wp.unit_start, window - encoder.specials, encoder.specials, window_overlap)
    sequences = encoder.sequences(wp.ids, wp.unit_start, win.unit, win.start, win.stop)
    batches = batching.plan_batches(win.lengths, batch_tokens, max_batch_size)
    seq_base, batch_base = batching.layout(batches, win.lengths)
    rows = batching.row_plan(win, seq_base, len(encoder.prefix))
    if target == "wordpieces":
        return _wordpiece_vectors(encoder, sequences, batches, batch_base, rows.content, layers, layer_combine, stats,
                                  int(win.lengths.sum()), pieces)
    n_units = len(wp.unit_start) - 1
    unit_of_piece = np.repeat(np.arange(n_units), np.diff(wp.unit_start))
    weights = None
    if target == "cls":
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
    pooler = pooling.RowPooler(n_out, _width(encoder, layers, layer_combine), how, owner, weights)
    order = np.argsort(source, kind="stable")
    cuts = np.searchsorted(source[order], batch_base)
    for b, hidden in enumerate(encoder.forward_batches(sequences, batches, layers)):
        pick = order[cuts[b]:cuts[b + 1]]
        pooler.add(owner[pick], _combine(hidden[:, source[pick] - batch_base[b]], layer_combine),
                   None if weights is None else weights[pick])
    stats["wordpieces"] += int(win.lengths.sum())
    stats["padded_wordpieces"] += int(batch_base[-1])
    out = pooler.result()
    _check_finite(out, encoder, "units")
    return out


def _width(encoder: Encoder, layers: tuple[int, ...], layer_combine: str) -> int:
    return encoder.dim * (len(layers) if layer_combine == "concat" else 1)


def _combine(picked: np.ndarray, layer_combine: str) -> np.ndarray:
    """``(layers, rows, dim)`` hidden states to ``(rows, width)``: one layer as it is (no copy), else their mean or
    concatenation."""
    if len(picked) == 1:  # the mean of one layer is that layer, bit for bit
        return picked[0]
    return picked.mean(0) if layer_combine == "mean" else np.concatenate(list(picked), axis=1)


def _wordpiece_vectors(encoder: Encoder, sequences, batches: list[np.ndarray], batch_base: np.ndarray,
                       content: np.ndarray, layers: tuple[int, ...], layer_combine: str, stats: Counter,
                       wordpieces: int, pieces: np.ndarray | None) -> np.ndarray | pooling.PieceVectors:
    """Each wordpiece's vector, from the window that owns it (``content[i]``: its row of the batched output),
    copied once out of each batch: into one matrix in batch order (a ``PieceVectors``), or with ``pieces``
    straight into row ``k`` of the result for ``pieces[k]`` (a piece may be asked for more than once)."""
    source = content if pieces is None else content[pieces]
    matrix = np.empty((len(source), _width(encoder, layers, layer_combine)), dtype=np.float32)
    row = np.empty(len(source) if pieces is None else 0, dtype=np.int64)
    order = np.argsort(source, kind="stable")
    cuts = np.searchsorted(source[order], batch_base)
    for b, hidden in enumerate(encoder.forward_batches(sequences, batches, layers)):
        lo, hi = cuts[b], cuts[b + 1]
        pick = order[lo:hi]
        at = source[pick] - batch_base[b]
        if pieces is not None:  # each row to its place in the caller's order
            matrix[pick] = _combine(hidden[:, at], layer_combine)
            continue
        if len(layers) == 1 and hidden.dtype == np.float32:  # straight from the batch into place
            np.take(hidden[0], at, axis=0, out=matrix[lo:hi], mode="clip")
        else:
            matrix[lo:hi] = _combine(hidden[:, at], layer_combine)
        row[pick] = np.arange(lo, hi)
    stats["wordpieces"] += wordpieces
    stats["padded_wordpieces"] += int(batch_base[-1])
    _check_finite(matrix, encoder, "wordpieces")
    return matrix if pieces is not None else pooling.PieceVectors(matrix, row)


def _check_finite(out: np.ndarray, encoder: Encoder, what: str) -> None:
    """Damaged weights are refused at load; this is overflow at run time (e.g. fp16)."""
    if np.isfinite(out.sum(dtype=np.float64)):  # one pass, no mask; float64 cannot overflow on float32 input
        return
    rows = int((~np.isfinite(out)).any(axis=tuple(range(1, out.ndim))).sum()) if out.ndim > 1 else 1
    raise ModelLoadError("E447", f"The runtime returned NaN or infinite values for {rows} of {len(out)} {what} "
                         f"({encoder.runtime.name}, precision {encoder.runtime.precision}): an overflow. "
                         "Use precision='fp32'.")


def encode_distinct(unit_texts: list[str], wp: batching.Wordpieces | None,
                    tokenize: Callable[[np.ndarray | None], batching.Wordpieces],
                    run: Callable[..., np.ndarray | pooling.PieceVectors], target: str,
                    cache: VectorCache | None = None, key_base: str = "",
                    pieces: np.ndarray | None = None) -> np.ndarray | pooling.PieceVectors:
    """The encoder's output for every unit, each distinct unit text encoded once.

    Repeated texts (boilerplate sentences, copied notes) share one encoding, so equal texts get equal vectors
    and a run does less work. With a ``cache``, the distinct units it holds are read (their wordpiece vectors
    for ``target="wordpieces"``, else the pooled vector before normalisation) and only the others encoded and
    stored; a warm run is then bit-identical to the cold run that filled the cache.

    Args:
        unit_texts: the text of each unit, in unit order.
        wp: the units' wordpieces, or ``None`` when they are tokenized only as needed (cache misses).
        tokenize: wordpieces of the chosen unit positions (``None``: every unit).
        run: the encoder's output for some wordpieces, ``run(wp, pieces=None)`` (``encode`` with the call's
            settings).
        key_base: the cache fingerprint of the call's vector settings (``nlu_lite.cache.fingerprint``).
        pieces: with ``target="wordpieces"``, only these wordpieces' vectors (positions in ``wp``), in this order.
    """
    slot: dict[str, int] = {}  # distinct text -> its place among the distinct units
    distinct: list[int] = []  # unit position of each distinct text's first occurrence
    for k, text in enumerate(unit_texts):
        if text not in slot:
            slot[text] = len(distinct)
            distinct.append(k)
    if not unit_texts or (cache is None and len(distinct) == len(unit_texts)):
        return run(wp if wp is not None else tokenize(None), pieces)  # nothing repeated or cached
    if cache is None:  # the distinct units once, then every unit gathered from its text's (one copy, no split)
        chosen = np.asarray(distinct, dtype=np.int64)
        sub = tokenize(chosen) if wp is None else batching.select_units(wp, chosen)
        slots = np.fromiter((slot[text] for text in unit_texts), dtype=np.int64, count=len(unit_texts))
        if pieces is not None:  # each piece asked for, at its place in its text's first occurrence
            unit = np.searchsorted(wp.unit_start, pieces, side="right") - 1
            return run(sub, sub.unit_start[slots[unit]] + pieces - wp.unit_start[unit])
        out = run(sub)
        if target != "wordpieces":
            return out[slots]
        counts = np.diff(sub.unit_start)[slots]  # each unit's pieces point at its text's rows: nothing copied
        return out.select(batching.ranges(sub.unit_start[slots], counts))

    def compute(positions: np.ndarray) -> list[np.ndarray]:
        chosen = np.asarray(distinct, dtype=np.int64)[positions]
        if wp is None:  # tokenize only the units the cache lacks
            sub = tokenize(chosen)
        else:
            sub = wp if len(positions) == len(unit_texts) else batching.select_units(wp, chosen)
        out = run(sub)
        return np.split(out.dense(), sub.unit_start[1:-1]) if target == "wordpieces" else list(out)

    keys = [key(unit_texts[k], key_base) for k in distinct] if cache is not None else list(slot)
    blocks = get_or_compute(cache, keys, compute)
    ordered = [blocks[slot[text]] for text in unit_texts]
    if target != "wordpieces":
        return np.stack(ordered)
    every = pooling.PieceVectors.of(np.concatenate(ordered))
    return every if pieces is None else every.take(pieces)
