"""The bounded tokenizer: spaCy's tokens on normal text, linear time on adversarial runs."""

from __future__ import annotations

import json
import random
import time

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import gold_texts, mtsamples_notes, shared_path

from nlu_lite.text._bounded_tokenizer import MAX_SPAN, BoundedTokenizer, fast_suffix_search
from nlu_lite.text._segmentation import build_nlp, segment

SUFFIXES = spacy.blank("en").Defaults.suffixes
PIECES = list("..(),'\"$%°FC0123456789abcXYZ😷…—-+kmgs’\n") + ["km", "US$", "'s", "°F", "……", "..."]


@pytest.fixture(scope="module")
def plain_tokenizer():
    """spaCy's tokenizer configured as ours, with spaCy's own suffix search and no bounding: the reference."""
    nlp = build_nlp.__wrapped__("clinical")  # a fresh pipeline, not the shared cached one
    inner = nlp.tokenizer.tokenizer
    inner.suffix_search = spacy.util.compile_suffix_regex(SUFFIXES).search
    return inner


def _tokens(doc) -> list[tuple[int, str, bool]]:
    return [(t.idx, t.text, bool(t.whitespace_)) for t in doc]


def test_bounded_tokenizer_suffix_search_equals_spacy_on_random_strings():
    reference = spacy.util.compile_suffix_regex(SUFFIXES).search
    fast = fast_suffix_search(SUFFIXES)
    rng = random.Random(0)
    for _ in range(30000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14)))
        want, got = reference(text), fast(text)
        assert (want and want.span()) == (got and got.span()), repr(text)


@pytest.mark.parametrize("source", ["mtsamples", "gold", "craft"])
def test_bounded_tokenizer_same_tokens_as_spacy_on_shared_text(plain_tokenizer, source):
    if source == "craft":
        lines = shared_path("craft/craft_dev_gold_spans.jsonl").read_text("utf-8").splitlines()[:2]
        texts = [json.loads(line)["text"] for line in lines]
    else:
        texts = mtsamples_notes(60) if source == "mtsamples" else gold_texts()
    ours = build_nlp("clinical").tokenizer
    for text in texts:
        assert _tokens(ours(text)) == _tokens(plain_tokenizer(text))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(PIECES + [" ", "  ", "\t", "Dr.", "b.i.d.", ",MEDS:", "\u00a0"]),
                     max_size=40).map("".join))
def test_bounded_tokenizer_property_same_tokens_as_spacy(plain_tokenizer, text):
    assert _tokens(build_nlp("clinical").tokenizer(text)) == _tokens(plain_tokenizer(text))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(PIECES + [" ", "\n", "a\u0301", "👍🏽", "x"]), max_size=50).map("".join))
def test_bounded_tokenizer_property_long_runs_keep_every_character(plain_tokenizer, text):
    bounded = BoundedTokenizer(plain_tokenizer, max_span=6)
    doc = bounded(text)
    assert doc.text == text
    assert all(len(t.text) <= 6 for t in doc if not t.is_space)
    if all(len(word) <= 6 for word in text.split()):  # no run over the bound: exactly spaCy's tokens
        assert _tokens(doc) == _tokens(plain_tokenizer(text))


@pytest.mark.parametrize("text,longest", [("x" * 1200, 500), ("ab" * 400 + "(" * 400, 500), ("x" * 499, 499)])
def test_bounded_tokenizer_cuts_long_runs_only(text, longest):
    doc = build_nlp("clinical").tokenizer(f"Start {text} end.")
    assert doc.text == f"Start {text} end."
    assert max(len(t) for t in doc) == longest
    assert [t.text for t in doc][:1] == ["Start"] and [t.text for t in doc][-2:] == ["end", "."]


def test_bounded_tokenizer_prefers_cuts_at_class_changes():
    text = "a" * 450 + "(" + "b" * 300
    doc = build_nlp("clinical").tokenizer(text)
    assert doc.text == text and len(text) > MAX_SPAN
    assert doc[0].text == "a" * 450  # cut before the '(' rather than at 500 characters inside the b's


def test_bounded_tokenizer_never_cuts_before_a_combining_mark():
    text = "e\u0301" * 700
    doc = build_nlp("clinical").tokenizer(text)
    assert doc.text == text
    assert all(not t.text[0] == "\u0301" for t in doc)


def _seconds(text: str, nlp) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        segment([text], nlp)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("run", ["(", "😷", ",", "'", "$", "(😷,$", "a(", ". ("])
def test_bounded_tokenizer_segmentation_time_is_linear_in_length(run):
    # spaCy alone: 4,000 '(' take ~2 s and each 4x longer run ~16x longer (quadratic); here ~4x
    nlp = build_nlp("clinical")
    n = 12_000  # 3,000 characters segment in ~3 ms, where fixed costs and spaCy's cache outweigh the length
    small, large = _seconds(run * (n // len(run)), nlp), _seconds(run * (4 * n // len(run)), nlp)
    assert large / max(small, 1e-3) < 8, (small, large)
    assert large < 2.0
