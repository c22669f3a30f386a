from __future__ import annotations

import numpy as np
import pytest

from nlu_lite.pipeline._pooling import RowPooler, l2_normalize, pool_subwords, token_ranges

# tokens "ab" [0,2), "c" [3,4), zero-width [5,6) (no wordpiece), "defg" [7,11)
TOK_B, TOK_E = np.array([0, 3, 5, 7]), np.array([2, 4, 6, 11])
# wordpieces "a" "##b" "c" "de" "##fg"
WP_B, WP_E = np.array([0, 1, 3, 7, 9]), np.array([1, 2, 4, 9, 11])


def test_pooling_token_ranges_overlap_and_empty():
    first, last = token_ranges(TOK_B, TOK_E, WP_B, WP_E)
    assert first.tolist() == [0, 2, 3, 3]
    assert last.tolist() == [1, 2, 2, 4]


@pytest.mark.parametrize("how", ["first", "last", "mean", "first_last"])
def test_pooling_subwords_match_naive_loop(how):
    hidden = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    first, last = token_ranges(TOK_B, TOK_E, WP_B, WP_E)
    got = pool_subwords(hidden, first, last, how)
    for t in range(4):
        pieces = hidden[first[t]:last[t] + 1]
        if len(pieces) == 0:
            assert np.isnan(got[t]).all()
            continue
        expected = {"first": pieces[0], "last": pieces[-1], "mean": pieces.mean(0),
                    "first_last": np.concatenate([pieces[0], pieces[-1]])}[how]
        np.testing.assert_allclose(got[t], expected, rtol=1e-6, atol=1e-6)


def test_pooling_wordpiece_shared_by_two_tokens_counts_for_both():
    # spaCy "do" + "n't" vs wordpieces "don" "'" "t": "don" overlaps both tokens
    first, last = token_ranges(np.array([0, 2]), np.array([2, 5]), np.array([0, 3, 4]), np.array([3, 4, 5]))
    assert (first.tolist(), last.tolist()) == ([0, 0], [0, 2])


@pytest.mark.parametrize("how", ["mean", "max", "assign"])
@pytest.mark.parametrize("splits", [[6], [1, 5], [2, 2, 2], [1, 1, 1, 1, 1, 1]])
def test_pooling_row_pooler_batch_by_batch_matches_naive(how, splits):
    hidden = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    owner = np.array([0, 1, 0, 1, 0, 1]) if how != "assign" else np.array([3, 1, 0, 2, 5, 4])
    n = 2 if how != "assign" else 6
    pooler = RowPooler(n, 4, how, owner)
    start = 0
    for size in splits:
        pooler.add(owner[start:start + size], hidden[start:start + size])
        start += size
    got = pooler.result()
    for u in range(n):
        block = hidden[np.flatnonzero(owner == u)]
        expected = {"mean": block.mean(0), "max": block.max(0), "assign": block[0]}[how]
        np.testing.assert_allclose(got[u], expected, rtol=1e-6, atol=1e-6)


def test_pooling_l2_normalize_unit_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(l2_normalize(x), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
