from __future__ import annotations

import numpy as np
import pytest

from nlu_lite.pipeline._batching import plan_batches, plan_windows


@pytest.mark.parametrize("lengths,max_content", [([0, 1, 5], 4), ([100], 10), ([31, 32, 33, 64, 65], 32), ([7], 2)])
def test_batching_windows_own_every_wordpiece_once(lengths, max_content):
    unit_start = np.r_[0, np.cumsum(lengths)]
    win = plan_windows(unit_start, max_content)
    assert (win.stop - win.start <= max_content).all()
    for u, n in enumerate(lengths):
        mine = win.unit == u
        owned = np.concatenate([np.arange(a, b) for a, b in zip(win.own_start[mine], win.own_stop[mine])])
        assert owned.tolist() == list(range(n))
        assert ((win.start[mine] <= win.own_start[mine]) & (win.own_stop[mine] <= win.stop[mine])).all()


def test_batching_windows_keep_context_around_owned_pieces():
    win = plan_windows(np.array([0, 100]), 20)
    inner = slice(1, -1)
    assert ((win.own_start - win.start)[inner] >= 4).all()
    assert ((win.stop - win.own_stop)[inner] >= 4).all()


@pytest.mark.parametrize("max_tokens,max_sequences", [(64, 100), (10, 2), (1000, 3)])
def test_batching_batches_cover_all_within_budget(max_tokens, max_sequences):
    lengths = np.array([3, 50, 7, 7, 20, 2, 90, 13])
    batches = plan_batches(lengths, max_tokens, max_sequences)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= max_sequences
        assert len(batch) == 1 or lengths[batch].max() * len(batch) <= max_tokens
    widths = [lengths[b].max() for b in batches]
    assert widths == sorted(widths, reverse=True)


@pytest.mark.parametrize("max_padding", [0.05, 0.1, 0.3])
def test_batching_padding_stays_under_limit(max_padding):
    lengths = np.r_[np.random.default_rng(0).integers(3, 40, 500), [250, 200, 120]]
    for batch in plan_batches(lengths, 8192, 64, max_padding=max_padding):
        if len(batch) > 1:
            assert 1 - lengths[batch].sum() / (lengths[batch].max() * len(batch)) <= max_padding


@pytest.mark.parametrize("n_prefix,n_suffix", [(1, 1), (1, 0), (0, 1), (2, 1)])
def test_batching_layout_and_row_plan_point_at_each_piece(n_prefix, n_suffix):
    """[CLS] x [SEP] (BERT), x </s> and <s> <s> x </s> style templates: every row lands on its own position."""
    from nlu_lite.pipeline._batching import layout, row_plan

    unit_start = np.array([0, 3, 3, 12])  # units of 3, 0 and 9 wordpieces
    win = plan_windows(unit_start, 4, n_prefix + n_suffix)
    assert (win.lengths == win.stop - win.start + n_prefix + n_suffix).all()
    batches = plan_batches(win.lengths, 12, 3)
    seq_base, batch_base = layout(batches, win.lengths)
    assert batch_base[-1] == sum(len(b) * win.lengths[b].max() for b in batches)
    # lay out fake outputs whose row r holds (sequence, position) and check every piece lands right
    where = {}
    for batch, base in zip(batches, batch_base):
        width = win.lengths[batch].max()
        for k, s in enumerate(batch):
            for pos in range(width):
                where[base + k * width + pos] = (s, pos)
    plan = row_plan(win, seq_base, n_prefix)
    assert plan.prefix.shape == (3, n_prefix) and plan.suffix.shape == (3, n_suffix)
    for u in range(3):
        for j in range(n_prefix):
            seq, pos = where[plan.prefix[u, j]]
            assert win.unit[seq] == u and win.start[seq] == 0 and pos == j
        for j in range(n_suffix):
            seq, pos = where[plan.suffix[u, j]]
            last = np.flatnonzero(win.unit == u)[-1]
            assert seq == last and pos == n_prefix + win.stop[seq] - win.start[seq] + j
    for p in range(12):
        u = np.searchsorted(unit_start, p, side="right") - 1
        seq, pos = where[plan.content[p]]
        local = p - unit_start[u]
        assert win.unit[seq] == u and win.own_start[seq] <= local < win.own_stop[seq]
        assert pos == n_prefix + local - win.start[seq]
