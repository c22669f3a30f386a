"""Document level: one row per input row, the whole (stripped) text encoded as one unit, windowed when long."""

from __future__ import annotations

import numpy as np

from ..pipeline import _pooling as pooling
from ._base import Level, Rows, Units, register


class DocumentLevel(Level):
    name = "document"
    text_column = "document"
    rank = 2
    segments = False
    description = "one row per input row (the text trimmed of surrounding whitespace)"

    def target(self, settings) -> str:
        return settings.pooling

    def units(self, texts, seg) -> Units:
        begin = np.asarray([len(t) - len(t.lstrip()) for t in texts], dtype=np.int64)
        end = np.asarray([len(t.rstrip()) for t in texts], dtype=np.int64)
        return Units(np.arange(len(texts), dtype=np.int64), begin, end)

    def rows(self, texts, seg, units, wp, encoded, settings) -> Rows:
        vectors = pooling.l2_normalize(encoded) if settings.normalize else encoded
        return Rows(units.doc, units.begin, units.end, vectors)


register(DocumentLevel())
