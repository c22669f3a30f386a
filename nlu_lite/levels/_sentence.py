"""Sentence level: one row per sentence, its vector pooled over the sentence's sequence (specials included)."""

from __future__ import annotations

from ..pipeline import _pooling as pooling
from ._base import Level, Rows, Units, register, sentence_numbers


class SentenceLevel(Level):
    name = "sentence"
    text_column = "sentence"
    rank = 1
    columns = (("sentence_id", "int64"), ("section", "string"))
    description = "one row per sentence (trimmed of surrounding whitespace)"

    def target(self, settings) -> str:
        return settings.pooling

    def units(self, texts, seg) -> Units:
        return Units(seg.sentence_doc, seg.sentence_begin, seg.sentence_end)

    def rows(self, texts, seg, units, wp, encoded, settings) -> Rows:
        vectors = pooling.l2_normalize(encoded) if settings.normalize else encoded
        return Rows(units.doc, units.begin, units.end, vectors,
                    {"sentence_id": sentence_numbers(units.doc), "section": seg.sentence_section})


register(SentenceLevel())
