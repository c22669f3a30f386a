"""Output levels as strategies: which spans are encoded, and which output row takes which encoder rows.

Vocabulary (used everywhere in nlu_lite):
- *chunk*: a block of input rows processed together (``chunk_size``; ``predict_iter`` yields one per chunk);
- *unit*: a span of one document encoded as one sequence (a sentence, or a whole document);
- *window*: one model sequence of a unit (units longer than the model's limit get several, overlapping);
- *batch*: the windows of one forward pass;
- *row*: one output row (a token, a sentence, a document, a user's span).

A level is one module of this package defining a ``Level`` subclass and registering an instance with
``register``; validation, the CLI's choices, the DataFrame columns and the Spark schema all read this registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import InvalidOptionError


@dataclass(frozen=True)
class Units:
    """Spans encoded as one sequence each, in document order: document position and character range."""

    doc: np.ndarray
    begin: np.ndarray
    end: np.ndarray


@dataclass(frozen=True)
class Rows:
    """Output rows of a chunk: their document, character range, vector and level-specific integer columns."""

    doc: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    vectors: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    no_wordpiece: int = 0  # rows whose characters the tokenizer dropped: their vectors are NaN


class Level:
    """One output level. Subclasses set the class attributes and implement ``units`` and ``rows``."""

    name: ClassVar[str]
    text_column: ClassVar[str]  # the output column holding each row's text
    columns: ClassVar[tuple[tuple[str, str], ...]] = ()  # further per-row columns: (name, "int64" | "string")
    positions: ClassVar[bool] = False  # begin/end are always part of the output (not only with positions=True)
    segments: ClassVar[bool] = True  # needs spaCy tokens and sentences
    rank: ClassVar[int] = 100  # place in listings (finest first)
    description: ClassVar[str] = ""

    def for_chunk(self, request, docs, present: np.ndarray, texts: list[str]) -> Level:
        """This level for one chunk of a call: levels that take per-call input (a user's spans) bind it here.

        ``request``: the call's extra input (``None`` for levels without one); ``docs``: the chunk's input rows;
        ``present``: the chunk position of each non-empty text in ``texts``.
        """
        return self

    def target(self, settings) -> str:
        """What the encoder must return: ``"wordpieces"`` (one vector each) or a unit pooling (``mean`` ...)."""
        raise NotImplementedError

    def units(self, texts: list[str], seg) -> Units:
        raise NotImplementedError

    def rows(self, texts: list[str], seg, units: Units, wp, encoded: np.ndarray, settings) -> Rows:
        raise NotImplementedError


_LEVELS: dict[str, Level] = {}


def register(level: Level) -> Level:
    """Add a level to the registry (each level module calls this once)."""
    _LEVELS[level.name] = level
    return level


def names() -> tuple[str, ...]:
    """The registered level names, finest first (token, sentence, document, then any others)."""
    return tuple(sorted(_LEVELS, key=lambda name: _LEVELS[name].rank))


def get(name: str) -> Level:
    """The level called ``name``; ``InvalidOptionError`` listing the valid names otherwise."""
    level = _LEVELS.get(name) if isinstance(name, str) else None
    if level is None:
        raise InvalidOptionError("E408", f"output_level={name!r} is not valid; choose one of {list(names())}.")
    return level


def sentence_numbers(unit_doc: np.ndarray) -> np.ndarray:
    """Position of each unit within its document (units sorted by document): 0, 1, ... per document."""
    return np.arange(len(unit_doc)) - np.searchsorted(unit_doc, unit_doc, side="left")


from . import _document, _sentence, _span, _token  # noqa: E402,F401  (each registers its level)
