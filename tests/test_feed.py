"""Feeding a device (issue 22, item 1): the next chunk prepared while one is encoded, the faster text side, and
the documented window overlap - each checked against what it replaces or a brute-force reference."""

from __future__ import annotations

import re
import threading

import families
import numpy as np
import pandas as pd
import pytest
from registered import TEXT_LEVELS
from shared_data import mtsamples_notes

import nlu_lite
from nlu_lite.cache import fingerprint
from nlu_lite.errors import InvalidOptionError
from nlu_lite.models._encoder import _load_tokenizer
from nlu_lite.pipeline import _batching as batching
from nlu_lite.pipeline import _pooling as pooling
from nlu_lite.text import _segmentation as segmentation

TRICKY = ["A literal [SEP] and <s> or </s> [CLS] stays text.", "Café au lait, naïve 😷 patient.", "  x  ", "",
          "b.i.d.,MEDICATIONS: , Her only med"]


def _units(texts: list[str]):
    """Sentence-like units of ``texts``: every run between '. ' (offsets into each text)."""
    spans = [(d, m.start(), m.end()) for d, text in enumerate(texts) for m in re.finditer(r"[^.]+\.?", text)]
    return (np.asarray(column, dtype=np.int64) for column in zip(*spans))


def _wrapper_wordpieces(tokenizer, texts, doc, begin, end, prompt):
    """The reference: transformers' tokenizer call, as the pipeline made it before it called the Rust side."""
    unit_texts = [prompt + texts[d][b:e] for d, b, e in zip(doc.tolist(), begin.tolist(), end.tolist())]
    encoded = tokenizer(unit_texts, add_special_tokens=False, return_offsets_mapping=True, split_special_tokens=True)
    ids = [i for seq in encoded["input_ids"] for i in seq]
    offsets = np.asarray([p for seq in encoded["offset_mapping"] for p in seq], dtype=np.int64).reshape(-1, 2)
    shift = np.repeat(begin, [len(seq) for seq in encoded["input_ids"]])
    starts = np.cumsum([0] + [len(seq) for seq in encoded["input_ids"]])
    lo, hi = offsets[:, 0] - len(prompt), offsets[:, 1] - len(prompt)
    return ids, np.maximum(lo, 0) + shift, np.where(lo < 0, 0, hi) + shift, starts


@pytest.fixture(scope="module")
def family_tokenizers(tmp_path_factory, minilm_dir):
    found = {"all-MiniLM-L6-v2": _load_tokenizer(minilm_dir, None)}
    for family in families.FAMILIES:
        folder = families.build(family, tmp_path_factory.mktemp("feed") / family)
        found[family] = _load_tokenizer(folder, None)
    return found


@pytest.mark.parametrize("prompt", ["", "query: "])
def test_feed_tokenizing_on_the_rust_side_equals_the_transformers_call(family_tokenizers, prompt):
    texts = mtsamples_notes(60) + TRICKY
    doc, begin, end = _units(texts)
    for name, tokenizer in family_tokenizers.items():
        tokenizer.backend_tokenizer.enable_truncation(16)  # state a tokenizer.json may carry: must not apply
        got = batching.tokenize_units(tokenizer, texts, doc, begin, end, prompt=prompt)
        ids, lo, hi, starts = _wrapper_wordpieces(tokenizer, texts, doc, begin, end, prompt)
        assert got.ids.tolist() == ids, name
        assert got.begin.tolist() == lo.tolist() and got.end.tolist() == hi.tolist(), name
        assert got.unit_start.tolist() == starts.tolist(), name
        assert len(ids) > 20_000


@pytest.mark.parametrize("how", ["first", "last", "mean", "max", "first_last"])
def test_feed_subword_pooling_equals_a_per_token_loop_bit_for_bit(how):
    rng = np.random.default_rng(3)
    hidden = rng.standard_normal((5000, 24)).astype(np.float32)
    first = np.sort(rng.integers(0, 4990, 3000))
    last = first + rng.choice([-1, 0, 0, 0, 1, 1, 2, 5], size=3000)  # -1: a token without wordpieces
    got = pooling.pool_subwords(hidden, first, last, how)
    for t in range(len(first)):
        pieces = hidden[first[t]:last[t] + 1]
        if not len(pieces):
            assert np.isnan(got[t]).all()
            continue
        total = pieces[0].copy()
        for row in pieces[1:]:  # one row after another, in float32
            total = np.maximum(total, row) if how == "max" else total + row
        expected = {"first": pieces[0], "last": pieces[-1], "max": total, "mean": total / np.float32(len(pieces)),
                    "first_last": np.concatenate([pieces[0], pieces[-1]])}[how]
        assert got[t].tobytes() == expected.tobytes(), t
    assert pooling.pool_subwords(hidden, first, first, how).shape[0] == 3000  # every token filled: no NaN copy


@pytest.mark.parametrize("how", ["first", "last", "mean", "max", "first_last"])
def test_feed_piece_vectors_pool_as_the_dense_wordpiece_vectors_bit_for_bit(how):
    """The encoder hands token and span level a ``PieceVectors`` (rows in batch order, repeated units sharing rows)
    instead of one dense copy per wordpiece: pooling from it equals pooling from the dense vectors."""
    rng = np.random.default_rng(5)
    dense = rng.standard_normal((5000, 24)).astype(np.float32)
    order = rng.permutation(5000)  # the rows as batches leave them
    pieces = pooling.PieceVectors(dense[order], np.argsort(order))
    first = np.sort(rng.integers(0, 4990, 3000))
    last = first + rng.choice([-1, 0, 0, 1, 2, 5], size=3000)
    assert np.array_equal(pieces.dense(), dense)
    expected = pooling.pool_subwords(dense, first, last, how)
    assert pooling.pool_subwords(pieces, first, last, how).tobytes() == expected.tobytes()
    shared = pieces.select(np.r_[0:5000, 100:200])  # a repeated unit: its pieces point at the same rows
    assert shared.matrix is pieces.matrix and np.array_equal(shared.take(np.arange(5000, 5100)), dense[100:200])
    narrow = pooling.pool_subwords(pieces.columns(8), first, last, how)
    assert narrow.tobytes() == pooling.pool_subwords(np.ascontiguousarray(dense[:, :8]), first, last, how).tobytes()


@pytest.mark.parametrize("how", pooling.PICKED_POOLINGS)
def test_feed_picked_pieces_pool_as_every_wordpiece_does_bit_for_bit(how):
    """First/last pooling reads one or two pieces per token: the encoder hands back just those rows."""
    rng = np.random.default_rng(9)
    hidden = rng.standard_normal((5000, 24)).astype(np.float32)
    first = np.sort(rng.integers(0, 4990, 3000))
    last = first + rng.choice([-1, 0, 0, 1, 2, 5], size=3000)  # -1: a token without wordpieces (NaN)
    picked = hidden[pooling.picked_pieces(first, last, how)]
    got = pooling.pool_picked(picked, first, last, how)
    assert got.tobytes() == pooling.pool_subwords(hidden, first, last, how).tobytes()
    every = first <= last
    assert pooling.pool_picked(picked[:0], first[:0], last[:0], how).shape == (0, 24 * (1 + (how == "first_last")))
    assert np.isnan(got[~every]).all() and not np.isnan(got[every]).any()


@pytest.mark.parametrize("how", pooling.PICKED_POOLINGS)
@pytest.mark.parametrize("cached", [False, True])
def test_feed_token_level_reads_only_the_pieces_it_pools(tiny_cased_dir, tmp_path, monkeypatch, how, cached):
    """Token level with first/last pooling gets only the picked wordpieces' vectors (repeated sentences mapped
    to their first occurrence, or read from the cache): the rows equal those pooled from every wordpiece."""
    from nlu_lite import levels

    notes = list(nlu_lite.sample_notes()["text"][:30])
    notes += notes[:6] + ["Chest pain. Chest pain. Chest pain.", "", "b.i.d. [SEP] x" * 30]  # repeats, long units
    pipe = nlu_lite.load(path=tiny_cased_dir, cache=tmp_path / "v.sqlite" if cached else None)
    options = {"output_level": "token", "subword_pooling": how, "chunk_size": 11, "progress": False}
    picked = pipe.predict(notes, **options)
    warm = pipe.predict(notes, **options)
    monkeypatch.setattr(levels.get("token"), "pieces", lambda *args: None)  # every wordpiece, as PieceVectors
    every = pipe.predict(notes, **options)
    _assert_same(picked, every, pipe.column_name)
    _assert_same(warm, every, pipe.column_name)
    assert len(every) > 2500


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, column: str) -> None:
    assert list(a.columns) == list(b.columns) and a.index.equals(b.index)
    for name in a.columns:
        if name == column:
            left, right = a[name].to_list(), b[name].to_list()
            assert all((x is None and y is None) or x.tobytes() == y.tobytes() for x, y in zip(left, right)), name
        else:
            pd.testing.assert_series_equal(a[name], b[name])


@pytest.mark.parametrize("level", [*TEXT_LEVELS, "span"])
def test_feed_prefetch_gives_the_rows_of_the_sequential_loop(tiny_cased, level):
    notes = mtsamples_notes(24) + ["", None, "Chest pain. [SEP] b.i.d."]
    spans = nlu_lite.terms(["chest pain", "history", "b.i.d."]) if level == "span" else None
    options = {"output_level": level, "spans": spans, "chunk_size": 5, "positions": True, "progress": False}
    on = list(tiny_cased.predict_iter(notes, prefetch=True, **options))  # 64 positions: long notes are windowed
    off = list(tiny_cased.predict_iter(notes, prefetch=False, **options))
    assert len(on) == len(off) == 6
    for a, b in zip(on, off):
        _assert_same(a, b, tiny_cased.column_name)
    assert sum(len(part) for part in on) >= len(notes)


def _prepare_threads(before: set[threading.Thread] = frozenset()) -> set[threading.Thread]:
    """The worker threads alive now that were not in ``before`` (another test's unclosed generator may still hold
    its own until it is garbage collected)."""
    return {t for t in threading.enumerate() if t.name.startswith("nlu_lite-prepare")} - set(before)


@pytest.mark.parametrize("error", [RuntimeError("spaCy broke"), KeyboardInterrupt()])
def test_feed_an_error_while_preparing_comes_after_the_chunks_before_it(tiny_cased, monkeypatch, error):
    calls = []
    real = segmentation.segment

    def failing(texts, nlp):
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise error
        return real(texts, nlp)

    monkeypatch.setattr(segmentation, "segment", failing)
    frames, before = [], _prepare_threads()
    with pytest.raises(type(error)):
        for frame in tiny_cased.predict_iter([f"Note {k}. Chest pain." for k in range(50)], output_level="sentence",
                                             chunk_size=10, progress=False):
            frames.append(frame)
    assert len(frames) == 2 and frames[1]["sentence"].iloc[0] == "Note 10."
    assert calls[0].startswith("nlu_lite-prepare")  # it ran on the worker, and the worker is gone
    assert not _prepare_threads(before)


def test_feed_a_bad_row_of_the_next_chunk_fails_after_the_current_chunk(tiny_cased):
    texts = [f"Note {k}." for k in range(25)] + [3.5]  # a number in chunk 3: the reader's error
    frames, before = [], _prepare_threads()
    with pytest.raises(nlu_lite.errors.InvalidInputError):
        for frame in tiny_cased.predict_iter(texts, output_level="document", chunk_size=10, progress=False):
            frames.append(frame)
    assert len(frames) == 2
    assert not _prepare_threads(before)


def test_feed_input_is_read_on_the_callers_thread_one_chunk_ahead_and_closing_ends_the_worker(tiny_cased):
    readers, consumed = set(), [0]

    def texts():
        for k in range(100):
            readers.add(threading.current_thread().name)
            consumed[0] += 1
            yield f"Note {k}. Chest pain."

    before = _prepare_threads()
    stream = tiny_cased.predict_iter(texts(), output_level="token", chunk_size=10, progress=False)
    first = next(stream)
    assert len(first) > 0 and consumed[0] == 20  # the chunk given, and the next one being prepared
    assert _prepare_threads(before)
    stream.close()
    assert not _prepare_threads(before) and consumed[0] == 20
    assert readers == {threading.current_thread().name}


def test_feed_window_overlap_half_is_the_windows_of_before():
    unit_start = np.cumsum([0, 5, 300, 61, 1000, 62, 63])
    for max_content in (2, 3, 62, 126, 254, 510):
        win = batching.plan_windows(unit_start, max_content)
        stride = max_content // 2  # the rule before window_overlap existed
        for u, n in enumerate(np.diff(unit_start).tolist()):
            starts = win.start[win.unit == u].tolist()
            expected = [0] if n <= max_content else [*range(0, n - max_content, stride), n - max_content]
            assert starts == expected


@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 0.75, 0.9])
def test_feed_window_overlap_owns_every_piece_once_with_the_context_asked(overlap):
    unit_start = np.cumsum([0, 7, 1000, 130, 64, 65, 3000])
    win = batching.plan_windows(unit_start, 64, overlap=overlap)
    for u, n in enumerate(np.diff(unit_start).tolist()):
        mine = win.unit == u
        owned = np.concatenate([np.arange(a, b) for a, b in zip(win.own_start[mine], win.own_stop[mine])])
        assert owned.tolist() == list(range(n))
        starts = win.start[mine]
        if n > 64:
            assert (np.diff(starts)[:-1] == 64 - int(np.ceil(64 * overlap))).all()  # the stride asked
            assert (win.stop[mine] - starts == 64).all()


def test_feed_window_overlap_is_checked_recorded_and_keyed(tiny_cased):
    with pytest.raises(InvalidOptionError, match=r"E310.*window_overlap=1.*from 0 up to"):
        tiny_cased.predict(["x"], window_overlap=1)
    with pytest.raises(InvalidOptionError, match="E310"):
        tiny_cased.predict(["x"], window_overlap="half")
    half = nlu_lite.provenance(tiny_cased.predict(["Chest pain."], output_level="document", progress=False))
    quarter = nlu_lite.provenance(tiny_cased.predict(["Chest pain."], output_level="document", window_overlap=0.25,
                                                     progress=False))
    off = nlu_lite.provenance(tiny_cased.predict(["Chest pain."], output_level="document", prefetch=False,
                                                 progress=False))
    assert half["settings"]["window_overlap"] == 0.5 and quarter["settings"]["window_overlap"] == 0.25
    assert fingerprint(half) != fingerprint(quarter)  # other vectors: other cache keys
    assert fingerprint(half) == fingerprint(off)  # prefetch changes no vector


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_feed_window_overlap_cost_and_seam_accuracy_on_minilm(minilm):
    """Notes just over a 128-wordpiece window against the same notes in one 256-wordpiece window (full context):
    what each overlap costs, and how close its wordpiece and note vectors stay (docs/feeding_a_device.md has the
    table: on MiniLM more overlap costs more and buys no accuracy)."""
    from collections import Counter

    from nlu_lite.pipeline._encoding import encode

    tokenizer = minilm.encoder.tokenizer
    notes = [n for n in mtsamples_notes(100) if 150 < len(tokenizer(n)["input_ids"]) < 254][:10]
    assert len(notes) == 10
    doc = np.arange(len(notes))
    wp = batching.tokenize_units(tokenizer, notes, doc, np.zeros_like(doc), np.asarray([len(n) for n in notes]))
    common = {"batch_tokens": 8192, "max_batch_size": 64}
    full = {target: encode(minilm.encoder, wp, window=256, target=target, stats=Counter(), **common)
            for target in ("wordpieces", "mean")}
    full["wordpieces"] = full["wordpieces"].dense()
    cost, pieces, notes_cos = {}, {}, {}
    for overlap in (0.0, 0.5):
        stats = Counter()
        windowed = encode(minilm.encoder, wp, window=128, target="wordpieces", stats=stats, window_overlap=overlap,
                          **common).dense()
        cost[overlap] = stats["wordpieces"] / (len(wp.ids) + 2 * len(notes))
        pieces[overlap] = _cosines(windowed, full["wordpieces"])
        pooled = encode(minilm.encoder, wp, window=128, target="mean", stats=Counter(), window_overlap=overlap,
                        **common)
        notes_cos[overlap] = _cosines(pooled, full["mean"])
    assert 1.1 < cost[0.0] < cost[0.5] < 2.1  # two windows at least; half overlap: up to a third one
    for overlap in cost:
        assert 0.9 < pieces[overlap].mean() < 0.999 and notes_cos[overlap].min() > 0.85
    assert np.abs(pieces[0.0] - pieces[0.5]).max() > 0.01  # the seams moved
