"""The level contract (``Level``, ``Units``, ``Rows``) and the registry every level module adds itself to."""


from __future__ import annotations

import re
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

    def take(self, positions: np.ndarray) -> Units:
        """The units at ``positions`` (an int array), in that order."""
        return Units(self.doc[positions], self.begin[positions], self.end[positions])


def unit_texts(texts: list[str], units: Units) -> list[str]:
    """The text of each unit: its character range of its document."""
    return [texts[d][b:e] for d, b, e in zip(units.doc.tolist(), units.begin.tolist(), units.end.tolist())]


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
    needs_spans: ClassVar[bool] = False  # rows come from the spans a call gives (spans=...), not from the text
    rank: ClassVar[int] = 100  # place in listings (finest first)
    description: ClassVar[str] = ""

    def output_columns(self, positions: bool, vector_column: str | None) -> list[tuple[str, str]]:
        """The output's columns in order, each with its kind: ``string``, ``int64`` or ``vector`` (float32 array).

        The one definition of the output's columns: the pandas frames, the Spark schema and the CLI's column
        checks all read it. ``vector_column=None``: the columns before the vector (the CLI, before a model loads).
        """
        columns = [(self.text_column, "string"), *self.columns]
        if positions or self.positions:
            columns += [("begin", "int64"), ("end", "int64")]
        return columns + ([(vector_column, "vector")] if vector_column is not None else [])

    @classmethod
    def id_columns(cls) -> tuple[str, ...]:
        """The columns that, with the index, identify one of this level's rows: its integer columns (e.g.
        ``sentence_id``) and ``begin``/``end``."""
        return tuple(name for name, kind in cls.columns if kind == "int64") + ("begin", "end")

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

    def pieces(self, texts: list[str], seg, units: Units, wp, settings) -> np.ndarray | None:
        """With target ``"wordpieces"``: the wordpieces whose vectors ``rows`` reads, when that is a few per row
        (e.g. each token's first): ``rows`` then gets an array whose row ``k`` is ``pieces[k]``'s vector, and no
        vector of the others is ever copied. ``None`` (the default): every wordpiece, as a ``PieceVectors``."""
        return None

    def rows(self, texts: list[str], seg, units: Units, wp, encoded, settings) -> Rows:
        """The level's rows from the encoder's output (what ``target`` and ``pieces`` asked for)."""
        raise NotImplementedError


_LEVELS: dict[str, Level] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def register(level: Level) -> Level:
    """Add a level to the registry (each level module calls this once); returns it."""
    name = getattr(level, "name", None)
    if not isinstance(level, Level) or not isinstance(name, str) or not _NAME.match(name):
        raise InvalidOptionError("E443", f"register() takes a Level instance whose name is lowercase letters, "
                                 f"digits and '_' (e.g. 'paragraph'); got {type(level).__name__} named {name!r}.")
    _LEVELS[name] = level
    return level


def names() -> tuple[str, ...]:
    """The registered level names, finest first (token, sentence, document, then any others)."""
    return tuple(sorted(_LEVELS, key=lambda name: _LEVELS[name].rank))


def text_columns() -> tuple[str, ...]:
    """The text column of every registered level, finest level first (``token``, ``sentence`` ...)."""
    return tuple(dict.fromkeys(_LEVELS[name].text_column for name in names()))


def row_id_columns() -> tuple[str, ...]:
    """Every column that, with the index, identifies a row of some registered level (``sentence_id``, ``begin``,
    ``end`` ...), in a fixed order: integer columns first, then the offsets."""
    found = [c for name in names() for c in _LEVELS[name].id_columns()]
    offsets = ("begin", "end")
    return tuple(dict.fromkeys(c for c in found if c not in offsets)) + offsets


def get(name: str) -> Level:
    """The level called ``name``; ``InvalidOptionError`` listing the valid names otherwise."""
    level = _LEVELS.get(name) if isinstance(name, str) else None
    if level is None:
        raise InvalidOptionError("E408", f"output_level={name!r} is not valid; choose one of {list(names())}.")
    return level


def sentence_numbers(unit_doc: np.ndarray) -> np.ndarray:
    """Position of each unit within its document (units sorted by document): 0, 1, ... per document."""
    return np.arange(len(unit_doc)) - np.searchsorted(unit_doc, unit_doc, side="left")


