"""Nothing lost, nothing misplaced: property-based and naughty-string tests on the tiny model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registered import TEXT_LEVELS

import nlu_lite

NAUGHTY = [
    "Pain 😷🤒 since Monday 👍🏽",
    "Cafe\u0301 noe\u0308l, Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗̻̤̟̝͛",
    "患者は胸痛を否定した。血圧120/80。",
    "المريض ينفي ألم الصدر. שלום עולם",
    "zero\u200bwidth\u200cjoin\u200d and\ufeffbom",
    "ctrl\x00char\x07 and \x1b[31mescape",
    "line one\r\nline two\r\n\r\nline three\ttabbed\t\tend",
    "x" * 5000 + " after the long word.",
    "5mg/kg/day, BP 120/80, T 98.6°F, SpO2 97%, 3x/wk, q4-6h",
    "...!!!???---,,,;;;",
    " \t\n\r\u00a0\u2003 ",
    "",
    "Dr.\nSmith.\n\n\n\n1.\n2.\n•\n-",
]


def check_frame(text: str, level: str, pipe) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nlu_lite.NoWordpieceWarning)
        df = pipe.predict([text], output_level=level, positions=True)
    if level == "document" or not text.strip():
        assert len(df) == 1
    else:
        assert len(df) >= 1
    assert (df.index == 0).all()
    if text.strip():
        column = "document" if level == "document" else level
        if level != "document":
            for b, e, piece in zip(df["begin"], df["end"], df[column]):
                assert text[b:e] == piece
                assert piece.strip() == piece and piece
        cells = df[pipe.column_name]
        assert all(isinstance(v, np.ndarray) and v.shape == (32,) for v in cells)
        if level != "token":
            assert all(np.isfinite(v).all() for v in cells)
    else:
        assert df[pipe.column_name].isna().all()
    return df


@pytest.mark.parametrize("level", TEXT_LEVELS)
@pytest.mark.parametrize("text", NAUGHTY, ids=range(len(NAUGHTY)))
def test_robustness_naughty_strings_round_trip(tiny_uncased, text, level):
    check_frame(text, level, tiny_uncased)


def test_robustness_token_rows_cover_every_non_space_character(tiny_cased):
    for text in NAUGHTY:
        df = check_frame(text, "token", tiny_cased)
        if not text.strip():
            continue
        covered = np.zeros(len(text), dtype=bool)
        for b, e in zip(df["begin"], df["end"]):
            covered[b:e] = True
        assert all(covered[k] for k, ch in enumerate(text) if not ch.isspace())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120),
       level=st.sampled_from(TEXT_LEVELS))
def test_robustness_property_arbitrary_unicode(tiny_cased, text, level):
    check_frame(text, level, tiny_cased)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=60), st.sampled_from(NAUGHTY)), max_size=8))
def test_robustness_property_every_row_accounted_for(tiny_cased, texts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nlu_lite.NoWordpieceWarning)
        documents = tiny_cased.predict(texts, output_level="document")
        sentences = tiny_cased.predict(texts, output_level="sentence", chunk_size=3)
    assert list(documents.index) == list(range(len(texts)))
    assert set(sentences.index) == set(range(len(texts)))
    assert list(sentences.index) == sorted(sentences.index)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.text(st.one_of(st.characters(exclude_categories=()),
                                        st.sampled_from(["\ud800", "\udfff", "(", "•", "\n", " ", "1", "."])),
                              max_size=80), min_size=1, max_size=5),
       splitter=st.sampled_from(["clinical", "sentencizer"]))
def test_robustness_segmentation_any_text_lone_surrogates_included(texts, splitter):
    """Every code point, lone surrogates (category Cs) included: no row lost, offsets cover the original."""
    from nlu_lite.text._segmentation import build_nlp, segment

    texts = [t for t in texts if t.strip()]
    seg = segment(texts, build_nlp(splitter))
    for d, text in enumerate(texts):
        covered = np.zeros(len(text), dtype=bool)
        mine = seg.token_doc == d
        for b, e in zip(seg.token_begin[mine].tolist(), seg.token_end[mine].tolist()):
            assert text[b:e].strip() == text[b:e] and not covered[b:e].any()
            covered[b:e] = True
        assert all(covered[k] for k, ch in enumerate(text) if not ch.isspace())
        assert (seg.sentence_doc == d).sum() >= 1


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_robustness_lone_surrogates_keep_every_row(tiny_cased, level):
    texts = ["before.", "bad \ud800 here. Next \udc80x.", None, "after"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nlu_lite.NoWordpieceWarning)
        df = tiny_cased.predict(texts, output_level=level, positions=True)
        clean = tiny_cased.predict([t and t.replace("\ud800", "\ufffd").replace("\udc80", "\ufffd") for t in texts],
                                   output_level=level, positions=True)
    assert sorted(set(df.index)) == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(df.drop(columns=[tiny_cased.column_name]),
                                  clean.drop(columns=[tiny_cased.column_name]))
    for a, b in zip(df[tiny_cased.column_name], clean[tiny_cased.column_name]):
        assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)
    row = df.loc[[1]]
    for b, e, piece in zip(row["begin"], row["end"], row[level]):
        assert len(piece) == e - b and piece == texts[1][b:e].replace("\ud800", "\ufffd").replace("\udc80", "\ufffd")
