"""Span level: one row per user span (a mention), its vector pooled from its wordpieces computed in context.

The context of a span is its sentence, or, for a span that crosses sentences, the stretch of the document from
the first to the last of them; long contexts are windowed like any unit. Only contexts that hold a span are
encoded. A span that covers no wordpiece (only whitespace or dropped characters) gets a NaN vector.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidOptionError
from ..pipeline import _pooling as pooling
from ._base import Level, Rows, Units, register

SPAN_POOLINGS = ("mean", "first", "max")


def span_contexts(texts: list[str], seg, doc: np.ndarray, begin: np.ndarray,
                  end: np.ndarray) -> tuple[Units, np.ndarray, np.ndarray]:
    """The context units of spans: unique (document, begin, end) ranges, each span's unit and first sentence
    (its index in ``seg``).

    A span's first sentence is the first whose end lies after the span's begin, its last the last whose begin
    lies before the span's end (both within the span's document).
    """
    base = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) + 1 for t in texts], out=base[1:])
    sent_b, sent_e = base[seg.sentence_doc] + seg.sentence_begin, base[seg.sentence_doc] + seg.sentence_end
    first_of_doc = np.searchsorted(seg.sentence_doc, np.arange(len(texts)), side="left")
    last_of_doc = np.searchsorted(seg.sentence_doc, np.arange(len(texts)), side="right") - 1
    s0 = np.clip(np.searchsorted(sent_e, base[doc] + begin, side="right"), first_of_doc[doc], last_of_doc[doc])
    s1 = np.clip(np.searchsorted(sent_b, base[doc] + end, side="left") - 1, s0, last_of_doc[doc])
    ranges = np.stack([doc, seg.sentence_begin[s0], seg.sentence_end[s1]], axis=1).reshape(-1, 3)
    unique, unit_of_span = np.unique(ranges, axis=0, return_inverse=True)
    units = Units(unique[:, 0].copy(), unique[:, 1].copy(), unique[:, 2].copy())
    return units, unit_of_span.reshape(-1), s0


def span_wordpieces(units: Units, unit_of_span: np.ndarray, begin: np.ndarray, end: np.ndarray,
                    wp) -> tuple[np.ndarray, np.ndarray]:
    """For each span, the inclusive range of its context's wordpieces that overlap its characters."""
    width = int(max(units.end.max(initial=0), 0)) + 2  # offsets of one unit lie below this
    unit_of_piece = np.repeat(np.arange(len(units.doc)), np.diff(wp.unit_start))
    return pooling.token_ranges(unit_of_span * width + begin, unit_of_span * width + end,
                                unit_of_piece * width + wp.begin, unit_of_piece * width + wp.end)


class SpanLevel(Level):
    name = "span"
    text_column = "span"
    rank = 3
    positions = True
    needs_spans = True
    columns = (("label", "string"), ("sentence_id", "int64"), ("section", "string"))
    description = "one row per span given with spans= (DataFrame, per-row lists, nlu_lite.terms/patterns)"

    def __init__(self, spans=None) -> None:
        self.spans = spans
        self._context = None

    def for_chunk(self, request, docs, present, texts):
        if request is None:
            raise InvalidOptionError("E436", "output_level='span' embeds the spans you give: pass spans=... (a "
                                     "DataFrame with origin_index/begin/end, one list of (begin, end) per row, "
                                     "nlu_lite.terms([...]) or nlu_lite.patterns({...})).")
        return SpanLevel(request.for_chunk(docs, present, texts))

    def target(self, settings) -> str:
        return "wordpieces"

    def units(self, texts, seg) -> Units:
        sp = self.spans
        units, unit_of_span, sentence = span_contexts(texts, seg, sp.doc, sp.begin, sp.end)
        self._context = (unit_of_span, sentence, seg.sentence_section[sentence])
        return units

    def rows(self, texts, seg, units, wp, encoded, settings) -> Rows:
        sp, (unit_of_span, sentence, section) = self.spans, self._context
        first, last = span_wordpieces(units, unit_of_span, sp.begin, sp.end, wp)
        vectors = pooling.pool_subwords(encoded, first, last, settings.span_pooling)
        number = sentence - np.searchsorted(seg.sentence_doc, sp.doc, side="left")  # within its document
        return Rows(sp.doc, sp.begin, sp.end, vectors, {"label": sp.label, "sentence_id": number, "section": section},
                    no_wordpiece=int((first > last).sum()))


register(SpanLevel())
