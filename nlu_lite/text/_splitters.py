"""The sentence splitters ``load(sentence_splitter=...)`` takes: one table, read by the pipeline and by spaCy's
pipeline builder (light: no spaCy import)."""

from __future__ import annotations

from ..errors import InvalidOptionError

SENTENCE_SPLITTERS: dict[str, tuple[str, ...]] = {
    "clinical": ("nlu_lite_clinical_sentences",),  # ours: rules for clinical layout, list markers included
    "sentencizer": ("sentencizer", "nlu_lite_list_markers"),  # spaCy's punctuation rules, plus the marker rule
}
"""Splitter name -> the spaCy components it adds, in order."""


def check_splitter(name: object) -> str:
    """``name`` if it is a splitter, else ``InvalidOptionError`` listing them."""
    if not isinstance(name, str) or name not in SENTENCE_SPLITTERS:
        raise InvalidOptionError("E028", f"sentence_splitter={name!r} is not one of {list(SENTENCE_SPLITTERS)}.")
    return name
