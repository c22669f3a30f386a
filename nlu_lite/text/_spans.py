"""Spans: the character ranges of each input row that the ``span`` level embeds in context.

Spans come from anywhere: a DataFrame (row id, ``begin``, ``end``, optional ``label``: a medspaCy or brat export, a
chart review), a list of ``(begin, end[, label])`` per input row, a term list (``terms``: spaCy's
``PhraseMatcher``) or token patterns (``patterns``: spaCy's ``Matcher``). Every span is checked against its row's
text; a bad one is an error naming the row and the span, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..pipeline._documents import INDEX_NAME

DEFAULT_ID = INDEX_NAME  # the row id spans name when no id_column is given: the output's index name


@dataclass(frozen=True)
class ChunkSpans:
    """The spans of one chunk, sorted by (document, begin, end): document = position in the chunk's texts."""

    doc: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    label: list[str | None]


def _build(rows: list[tuple[int, int, int, str | None]]) -> ChunkSpans:
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    ints = np.asarray([r[:3] for r in rows], dtype=np.int64).reshape(-1, 3)
    return ChunkSpans(ints[:, 0], ints[:, 1], ints[:, 2], [r[3] for r in rows])


class SpanRequest:
    """A call's spans; the pipeline asks for each chunk's share with ``for_chunk`` and calls ``finish`` last."""

    def for_chunk(self, docs, present: np.ndarray, texts: list[str]) -> ChunkSpans:
        raise NotImplementedError

    def finish(self) -> None:
        """Called after the last chunk: spans that matched no input row are an error here."""

    @staticmethod
    def _checked(label: object, begin: object, end: object, text: str | None, extra: object) -> tuple[int, int]:
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (begin, end))
        if not ok or text is None or not 0 <= begin < end <= len(text):
            size = "an empty text" if text is None else f"a text of {len(text)} characters"
            raise InvalidInputError(
                "E425", f"Span ({begin!r}, {end!r}{', ' + repr(extra) if extra is not None else ''}) of row {label!r} "
                f"does not lie inside its text: row {label!r} has {size}. Spans need integers "
                "0 <= begin < end <= len(text) (end exclusive, as Python slices); fix or drop that span.")
        return int(begin), int(end)


class TableSpans(SpanRequest):
    """Spans as a DataFrame: a row-id column, ``begin``, ``end`` and an optional ``label``."""

    def __init__(self, frame: pd.DataFrame, id_name: str) -> None:
        missing = [c for c in (id_name, "begin", "end") if c not in frame.columns]
        if missing:
            raise InvalidInputError(
                "E426", f"The spans DataFrame lacks the columns {missing} (it has {list(frame.columns)}); it needs "
                f"{id_name!r} (the input row's id), 'begin', 'end' and optionally 'label'.")
        labels = frame["label"].tolist() if "label" in frame.columns else [None] * len(frame)
        self._by_id: dict[object, list[tuple[int, int, str | None]]] = {}
        for row_id, b, e, lab in zip(frame[id_name].tolist(), frame["begin"].tolist(), frame["end"].tolist(), labels):
            self._by_id.setdefault(row_id, []).append((b, e, None if pd.isna(lab) else str(lab)))
        self._seen: set[object] = set()
        self.id_name = id_name

    def check_ids(self, known: Iterable[object]) -> None:
        """Fail before any work when spans name rows that the input does not have."""
        unknown = sorted(set(self._by_id) - set(known), key=repr)
        if unknown:
            raise InvalidInputError(
                "E427", f"The spans name {len(unknown)} row id(s) that the input does not have: {unknown[:10]}. "
                f"Span rows are matched to the input's {self.id_name!r} (its index, or id_column=...).")

    def for_chunk(self, docs, present, texts):
        position = {label: k for k, label in enumerate(docs.index.tolist())}
        if len(position) != len(docs.index):
            raise InvalidInputError(
                "E428", "Spans are matched to input rows by id, but the input's ids are not unique "
                f"({docs.index[docs.index.duplicated()].tolist()[:5]} repeat); pass id_column= with unique ids.")
        text_of = {int(p): texts[k] for k, p in enumerate(present.tolist())}
        doc_of = {int(p): k for k, p in enumerate(present.tolist())}
        rows = []
        for row_id, spans in self._by_id.items():
            if row_id not in position:
                continue
            self._seen.add(row_id)
            p = position[row_id]
            for b, e, lab in spans:
                b, e = self._checked(row_id, b, e, text_of.get(p), lab)
                rows.append((doc_of[p], b, e, lab))
        return _build(rows)

    def finish(self) -> None:
        self.check_ids(self._seen)


class ListSpans(SpanRequest):
    """Spans as one list per input row, in input order: ``[(begin, end[, label]), ...]``."""

    def __init__(self, per_row: Sequence[Sequence[Sequence]]) -> None:
        self._rows = list(per_row)
        self._next = 0

    def for_chunk(self, docs, present, texts):
        start, self._next = self._next, self._next + len(docs.texts)
        if self._next > len(self._rows):
            raise InvalidInputError(
                "E429", f"spans has {len(self._rows)} lists but the input has more rows; give one list per input "
                "row (an empty list for rows without spans).")
        doc_of = {int(p): k for k, p in enumerate(present.tolist())}
        rows = []
        for offset, label in enumerate(docs.index.tolist()):
            for span in self._rows[start + offset] or ():
                if not isinstance(span, (tuple, list)) or len(span) not in (2, 3):
                    raise InvalidInputError(
                        "E430", f"Row {label!r} has the span {span!r}; write each span as (begin, end) or "
                        "(begin, end, label).")
                k = doc_of.get(offset)
                b, e = self._checked(label, span[0], span[1], texts[k] if k is not None else None,
                                     span[2] if len(span) == 3 else None)
                rows.append((k, b, e, None if len(span) == 2 else str(span[2])))
        return _build(rows)

    def finish(self) -> None:
        if self._next != len(self._rows):
            raise InvalidInputError(
                "E431", f"spans has {len(self._rows)} lists but the input has {self._next} rows; give exactly one "
                "list per input row.")


class MatcherSpans(SpanRequest):
    """Spans found by spaCy's PhraseMatcher (term lists) or Matcher (token patterns), labelled by their key."""

    def __init__(self, kind: str, table: Mapping[str, list], case_sensitive: bool = False) -> None:
        self.kind, self.table, self.case_sensitive = kind, dict(table), case_sensitive
        self._matcher = None

    def _build_matcher(self):
        from spacy.matcher import Matcher, PhraseMatcher

        from ._segmentation import build_nlp

        nlp = build_nlp("clinical")
        if self.kind == "terms":
            matcher = PhraseMatcher(nlp.vocab, attr="ORTH" if self.case_sensitive else "LOWER")
            for label, words in self.table.items():
                matcher.add(label, list(nlp.tokenizer.pipe(words)))
        else:
            matcher = Matcher(nlp.vocab)
            for label, token_patterns in self.table.items():
                matcher.add(label, token_patterns)
        return nlp, matcher

    def for_chunk(self, docs, present, texts):
        if self._matcher is None:
            self._matcher = self._build_matcher()
        nlp, matcher = self._matcher
        rows = []
        for k, doc in enumerate(nlp.tokenizer.pipe(texts)):
            for key, start, stop in matcher(doc):
                span = doc[start:stop]
                rows.append((k, span.start_char, span.end_char, nlp.vocab.strings[key]))
        return _build(rows)


def terms(words: Iterable[str] | Mapping[str, Iterable[str]], *, case_sensitive: bool = False) -> MatcherSpans:
    """Spans for every mention of the given terms (spaCy ``PhraseMatcher``; case-insensitive by default).

    ``words``: a list (each mention is labelled with the term as written in the list) or a mapping
    ``{label: [terms]}`` (e.g. ``{"drug": ["aspirin", "metoprolol"]}``). Overlapping mentions are all kept.

    >>> pipe.predict(notes, spans=nlu_lite.terms(["chest pain", "aspirin"]))  # doctest: +SKIP
    """
    if isinstance(words, str) or not isinstance(words, (Mapping, Iterable)):
        raise InvalidInputError("E432", f"terms() takes a list of terms or a {{label: [terms]}} mapping, got "
                                f"{words!r}; e.g. nlu_lite.terms(['aspirin', 'metoprolol']).")
    table = {str(k): list(v) for k, v in words.items()} if isinstance(words, Mapping) else None
    if table is None:
        table = {}
        for w in words:
            table.setdefault(str(w), []).append(str(w))
    bad = [w for ws in table.values() for w in ws if not isinstance(w, str) or not w.strip()]
    if bad or not table:
        raise InvalidInputError("E433", f"terms() needs non-empty strings; got {bad[:5] or 'no terms'}.")
    return MatcherSpans("terms", table, case_sensitive)


def patterns(table: Mapping[str, list]) -> MatcherSpans:
    """Spans matching spaCy token patterns (``Matcher``), labelled by their key.

    >>> nlu_lite.patterns({"dose": [[{"LIKE_NUM": True}, {"LOWER": {"IN": ["mg", "mcg", "g"]}}]]})  # doctest: +SKIP
    """
    if not isinstance(table, Mapping) or not all(isinstance(v, list) and v for v in table.values()):
        raise InvalidInputError("E434", f"patterns() takes {{label: [pattern, ...]}} with spaCy Matcher patterns, got "
                                f"{table!r}; e.g. nlu_lite.patterns({{'dose': [[{{'LIKE_NUM': True}}, "
                                "{'LOWER': 'mg'}]]}).")
    return MatcherSpans("patterns", {str(k): v for k, v in table.items()})


def request(spans: object, id_name: str | None) -> SpanRequest:
    """The user's ``spans=`` argument as a ``SpanRequest``."""
    if isinstance(spans, SpanRequest):
        return spans
    if isinstance(spans, pd.DataFrame):
        return TableSpans(spans, id_name or DEFAULT_ID)
    if isinstance(spans, (list, tuple, pd.Series)) and not isinstance(spans, str):
        return ListSpans(list(spans))
    raise InvalidInputError(
        "E435", f"spans={type(spans).__name__} is not understood; pass a DataFrame ({id_name or DEFAULT_ID!r}, "
        "'begin', 'end'[, 'label']), one list of (begin, end[, label]) per row, nlu_lite.terms([...]) or "
        "nlu_lite.patterns({...}).")
