"""Output levels: the registry, the pure level math, and a new level added as one class plus its registration."""

from __future__ import annotations

import numpy as np
import pytest

from nlu_lite import levels
from nlu_lite.errors import InvalidOptionError


def test_levels_registry_lists_finest_first_and_rejects_unknown():
    assert levels.names()[:3] == ("token", "sentence", "document")
    with pytest.raises(InvalidOptionError, match=r"output_level='chunk'.*\['token', 'sentence', 'document'"):
        levels.get("chunk")


@pytest.mark.parametrize("unit_doc,expected", [
    ([0, 0, 0, 1, 1, 3], [0, 1, 2, 0, 1, 0]),
    ([2], [0]),
    ([], []),
])
def test_levels_sentence_numbers_restart_per_document(unit_doc, expected):
    assert levels.sentence_numbers(np.asarray(unit_doc, dtype=np.int64)).tolist() == expected


def test_levels_token_wordpieces_map_tokens_of_each_document_to_their_own_pieces():
    from nlu_lite.levels._token import token_wordpieces
    from nlu_lite.pipeline._batching import Wordpieces
    from nlu_lite.text._segmentation import Segments

    texts = ["ab c", "de"]  # doc 0: tokens "ab" "c" (one sentence); doc 1: token "de"
    seg = Segments(token_doc=np.array([0, 0, 1]), token_begin=np.array([0, 3, 0]), token_end=np.array([2, 4, 2]),
                   token_sentence=np.array([0, 0, 0]), sentence_doc=np.array([0, 1]),
                   sentence_begin=np.array([0, 0]), sentence_end=np.array([4, 2]))
    # wordpieces "a" "##b" "c" | "d" "##e": offsets per document, the same numbers in both documents
    wp = Wordpieces(ids=np.arange(5), begin=np.array([0, 1, 3, 0, 1]), end=np.array([1, 2, 4, 1, 2]),
                    unit_start=np.array([0, 3, 5]))
    first, last = token_wordpieces(texts, seg, wp)
    assert first.tolist() == [0, 2, 3] and last.tolist() == [1, 2, 4]


def test_levels_output_columns_drive_frames_and_spark():
    assert levels.get("token").output_columns(True, "v") == [
        ("token", "string"), ("sentence_id", "int64"), ("section", "string"), ("begin", "int64"), ("end", "int64"),
        ("v", "vector")]
    assert levels.get("document").output_columns(False, "v") == [("document", "string"), ("v", "vector")]


def test_levels_sentence_ids_restart_in_each_document(tiny_cased):
    df = tiny_cased.predict(["Chest pain. No fever. Cough.", "Aspirin daily. BP 120/80."], output_level="sentence")
    assert df["sentence_id"].tolist() == [0, 1, 2, 0, 1]
    assert df.index.tolist() == [0, 0, 0, 1, 1]


class FirstSentenceLevel(levels.Level):
    """A level written the way a new one is added: one class and one register() call."""

    name = "first_sentence"
    text_column = "first_sentence"
    rank = 50

    def target(self, settings):
        return settings.pooling

    def units(self, texts, seg):
        firsts = np.flatnonzero(np.r_[True, seg.sentence_doc[1:] != seg.sentence_doc[:-1]])
        return levels.Units(seg.sentence_doc[firsts], seg.sentence_begin[firsts], seg.sentence_end[firsts])

    def rows(self, texts, seg, units, wp, encoded, settings):
        return levels.Rows(units.doc, units.begin, units.end, encoded)


def test_levels_a_new_level_is_one_module_and_its_registration(tiny_cased, monkeypatch):
    from nlu_lite.levels import _base

    monkeypatch.setitem(_base._LEVELS, "first_sentence", FirstSentenceLevel())
    texts = ["Chest pain. No fever.", None, "Aspirin daily. BP 120/80."]
    df = tiny_cased.predict(texts, output_level="first_sentence", positions=True)
    assert df["first_sentence"].tolist()[::2] == ["Chest pain.", "Aspirin daily."]
    assert df.index.tolist() == [0, 1, 2] and df[tiny_cased.column_name].iloc[1] is None
    sentences = tiny_cased.predict(texts, output_level="sentence")
    np.testing.assert_array_equal(df[tiny_cased.column_name].iloc[0], sentences[tiny_cased.column_name].iloc[0])
    assert "first_sentence" in levels.names()
