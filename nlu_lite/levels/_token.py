"""Token level: one row per spaCy token, its vector pooled from the wordpieces overlapping its characters."""

from __future__ import annotations

import numpy as np

from ..pipeline import _pooling as pooling
from ._base import Level, Rows, Units, register


def token_wordpieces(texts: list[str], seg, wp) -> tuple[np.ndarray, np.ndarray]:
    """For each token, the inclusive range of wordpieces (flat over the chunk) that overlap its characters.

    Offsets are per document; one coordinate line over all documents (each shifted past the previous one)
    lets one sorted search serve the whole chunk.
    """
    doc_base = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) + 1 for t in texts], out=doc_base[1:])
    wp_doc = np.repeat(seg.sentence_doc, np.diff(wp.unit_start))
    return pooling.token_ranges(doc_base[seg.token_doc] + seg.token_begin, doc_base[seg.token_doc] + seg.token_end,
                                doc_base[wp_doc] + wp.begin, doc_base[wp_doc] + wp.end)


class TokenLevel(Level):
    name = "token"
    text_column = "token"
    rank = 0
    columns = (("sentence_id", "int64"), ("section", "string"))
    description = "one row per spaCy token (whitespace is not a token)"

    def target(self, settings) -> str:
        return "wordpieces"

    def units(self, texts, seg) -> Units:
        return Units(seg.sentence_doc, seg.sentence_begin, seg.sentence_end)

    def pieces(self, texts, seg, units, wp, settings):
        if settings.subword_pooling not in pooling.PICKED_POOLINGS:
            return None  # mean: every wordpiece of every token
        return pooling.picked_pieces(*token_wordpieces(texts, seg, wp), settings.subword_pooling)

    def rows(self, texts, seg, units, wp, encoded, settings) -> Rows:
        first, last = token_wordpieces(texts, seg, wp)
        if isinstance(encoded, pooling.PieceVectors):
            vectors = pooling.pool_subwords(encoded, first, last, settings.subword_pooling)
        else:  # the vectors of self.pieces(), in that order
            vectors = pooling.pool_picked(encoded, first, last, settings.subword_pooling)
        return Rows(seg.token_doc, seg.token_begin, seg.token_end, vectors,
                    {"sentence_id": seg.token_sentence, "section": seg.token_section()},
                    no_wordpiece=int((first > last).sum()))


register(TokenLevel())
