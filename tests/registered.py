"""A level and a runtime defined outside nlu_lite and registered the way a maintainer adds one: one module, one
registration. ``conftest.py`` registers both, so every contract test parametrized over ``levels.names()`` and
``runtimes.names()`` runs on them too."""

from __future__ import annotations

import re

import numpy as np

from nlu_lite import levels, runtimes
from nlu_lite.levels import Level, Rows, Units
from nlu_lite.pipeline import _pooling as pooling

_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*$)", re.S)


class ParagraphLevel(Level):
    """One row per paragraph (text between blank lines), its vector pooled over the paragraph's sequence."""

    name = "paragraph"
    text_column = "paragraph"
    columns = (("paragraph_id", "int64"),)
    segments = False
    rank = 50
    description = "one row per paragraph (text between blank lines)"

    def target(self, settings) -> str:
        return settings.pooling

    def units(self, texts, seg) -> Units:
        spans = [(d, m.start(), m.end()) for d, text in enumerate(texts) for m in _PARAGRAPH.finditer(text)]
        doc, begin, end = (np.asarray(column, dtype=np.int64) for column in zip(*spans)) if spans else (
            np.zeros(0, np.int64),) * 3
        return Units(doc, begin, end)

    def rows(self, texts, seg, units, wp, encoded, settings) -> Rows:
        vectors = pooling.l2_normalize(encoded) if settings.normalize else encoded
        return Rows(units.doc, units.begin, units.end, vectors, {"paragraph_id": levels.sentence_numbers(units.doc)})


class DelegatingRuntime:
    """The torch runtime under another name: a runtime that lives outside nlu_lite's package."""

    name = "delegate"

    def __init__(self, inner) -> None:
        self._inner = inner
        self.device, self.precision, self.threads = inner.device, inner.precision, inner.threads
        self.dim, self.num_layers = inner.dim, inner.num_layers
        self.compute = "delegate over " + inner.compute

    def forward(self, ids, mask, layers=(-1,)):
        return self._inner.forward(ids, mask, layers)


def open_runtime(folder, *, family=None, device="auto", precision=None, threads=None) -> DelegatingRuntime:
    from nlu_lite.runtimes import _torch

    if precision not in (None, "fp32"):
        raise ValueError(f"the delegate runtime runs fp32 only, not {precision!r}")
    return DelegatingRuntime(_torch.open_runtime(folder, family=family, device=device, precision="fp32",
                                                 threads=threads))


RUNTIME = runtimes.RuntimeInfo("delegate", __name__, ("fp32",), description="the torch runtime, registered from a test")


def register_all() -> None:
    """Register both, as a maintainer's module would (``levels.register``, ``runtimes.register``)."""
    if "paragraph" not in levels.names():
        levels.register(ParagraphLevel())
    runtimes.register(RUNTIME)


register_all()

TEXT_LEVELS = tuple(name for name in levels.names() if not levels.get(name).needs_spans)
"""Every registered level that needs no spans (``paragraph`` included): what level-wide tests run over."""

BUILTIN_TEXT_LEVELS = tuple(name for name in TEXT_LEVELS if type(levels.get(name)).__module__.startswith("nlu_lite"))
"""nlu_lite's own levels that need no spans: Spark executors (other processes) know only these."""
