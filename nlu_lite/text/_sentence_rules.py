"""The clinical sentence rules: a spaCy component that sets ``is_sent_start`` on every token.

Sentences end at terminal punctuation except after abbreviations (``_ABBREVIATIONS``: titles, Latin and
dosing terms such as ``b.i.d.``, ``approx.``, ``tab.``), initials, list numbers or before a lowercase
continuation; at blank lines; at line breaks before list markers and ``Header:`` lines or after a line
ending in a colon; and before inline ALL-CAPS section headers (``...,ALLERGIES: , She ...``).

List markers have one rule: a marker (a bullet glyph, a dash or asterisk at a line start, ``1.``, ``2)``,
``(a)``, ``iv.``, ``#3``) belongs to the item after it. It starts that item's sentence (``"• Fever"``,
``"2. Type II DM"``); the unambiguous bullet glyphs (``•▪◦‣∙●○■□►▸➢➤``) start a sentence wherever they
stand, dashes and numbers at a line start or after a sentence end. A sentence that would hold only
markers (an empty item, a marker on its own line) joins the next sentence, or the previous one at the end
of a document, so no sentence is only a marker unless the document holds nothing else.
"""

from __future__ import annotations

import re

import numpy as np
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LIKE_NUM, ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.tokens import Doc

_TERMINALS = frozenset({".", "!", "?", "...", "…", "?!", "!?", "!!", "??", "。", "！", "？"})
# Words that take a period without ending a sentence (compared lowercased, without the period).
_ABBREVIATIONS = frozenset(
    """
    dr mr mrs ms mx prof sr jr st vs v fig figs eq eqs sec sect ref refs no nos vol pp ch approx ca cf
    al resp inc ltd corp dept univ e.g i.e etc. ex incl max min avg est jan feb mar apr jun jul aug
    sep sept oct nov dec pt pts dx tx hx rx sx fx yo y.o q.d b.i.d t.i.d q.i.d p.r.n p.o q.h.s h.s a.c
    p.c q.o.d q.a.m q.p.m i.v i.m s.c s.l o.d o.s o.u a.d a.s a.u u.s hr hrs wk wks mo mos yr yrs
    approx appt adm admin amt bilat diag disch eval freq hosp lt rt wt ht temp q tab tabs cap caps inj sol
    soln susp oint gtt gtts supp amp syr elix liq conc dil lib ung cr crm ant post inf sup lat prox dist abd ext
    """.split()
)
# List markers: bullet glyphs, dashes, numbered and lettered items. A marker belongs to the item after it:
# it starts that item's sentence, and a sentence that would be only markers joins the next sentence.
_BULLET_GLYPHS = frozenset("•▪◦‣∙●○■□►▸➢➤")  # unambiguous bullets: always start a sentence
_MARKER_GLYPHS = _BULLET_GLYPHS | frozenset("·*+-–—")
_MARKERS_ONLY = re.compile(
    r"(?:(?:[•▪◦‣∙●○■□►▸➢➤·*+\-–—]+|\(?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})[.)]|#\d+)\s*)+")
_BULLET = re.compile(r"^(?:[•·▪◦‣∙*+\-–—]|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)](?=\s)|#\d+)")
_HEADER_LINE = re.compile(r"^[A-Z][A-Za-z /&()\-]{0,40}:")
_CAPS_HEADER = re.compile(r"^[A-Z][A-Z/&\-]+$")
_OPENING_QUOTES = frozenset({'"', "“", "'", "‘", "(", "["})


class _Tokens:
    """A ``Doc``'s tokens as plain lists, read in one bulk call: making a spaCy ``Token`` per look-up (and
    ``doc.text``, which makes one per token) cost more than the rules themselves."""

    def __init__(self, doc: Doc) -> None:
        table = doc.to_array([ORTH, IDX, IS_SPACE, IS_PUNCT, SPACY, LIKE_NUM])
        strings = doc.vocab.strings
        self.words: list[str] = [strings[h] for h in table[:, 0].tolist()]
        self.idx: list[int] = table[:, 1].tolist()
        self.space: list[int] = table[:, 2].tolist()
        self.punct: list[int] = table[:, 3].tolist()
        self.trailing_space: list[int] = table[:, 4].tolist()  # a space follows the token (token.whitespace_)
        self.like_num: list[int] = table[:, 5].tolist()
        self.text = "".join(word + " " if ws else word for word, ws in zip(self.words, self.trailing_space))


@Language.component("nlu_lite_list_markers")
def list_markers(doc: Doc) -> Doc:
    """Apply the list-marker rule to sentences set by another component (spaCy's ``sentencizer``)."""
    if len(doc):
        tokens = _Tokens(doc)
        starts = doc.to_array(SENT_START).astype(np.int64).reshape(-1) == 1
        starts[0] = True
        _move_trailing_markers(tokens, starts)
        _join_marker_only_sentences(tokens, starts)
        doc.from_array([SENT_START], np.where(starts, 1, -1).astype(np.uint64).reshape(-1, 1))
    return doc


def _move_trailing_markers(tokens: _Tokens, starts: np.ndarray) -> None:
    """A marker glyph left at the end of a sentence, after its terminal, starts the next sentence instead."""
    words, space = tokens.words, tokens.space
    for i in np.flatnonzero(starts[1:]).tolist():
        j = i  # starts[1:] shifts indices by one: token i is the last one before the start at i + 1
        while j > 0 and space[j]:
            j -= 1
        k = j - 1
        while k > 0 and space[k]:
            k -= 1
        if j > 0 and words[j] in _MARKER_GLYPHS and words[k] in _TERMINALS:
            starts[i + 1] = False
            starts[j] = True


@Language.component("nlu_lite_clinical_sentences")
def clinical_sentences(doc: Doc) -> Doc:
    """Set ``is_sent_start`` on every token by the clinical rules described in the module docstring."""
    n = len(doc)
    if not n:
        return doc
    tokens = _Tokens(doc)
    words, space, punct, trailing_space = tokens.words, tokens.space, tokens.punct, tokens.trailing_space
    starts = np.zeros(n, dtype=bool)
    pending = True  # the next content token starts a sentence
    after_terminal = False
    for i, t in enumerate(words):
        if space[i]:
            newlines = t.count("\n")
            if newlines >= 2 or (newlines == 1 and _line_break_ends_sentence(tokens, i)):
                pending = True
            continue
        if after_terminal:
            # a quote glued to the period closes the sentence: 'great." she said'
            attached = i > 0 and not space[i - 1] and not trailing_space[i - 1]
            closes = punct[i] and t not in _MARKER_GLYPHS and (attached or t not in _OPENING_QUOTES)
            if not closes:
                pending = pending or not t[:1].islower()
                after_terminal = False
        if not pending and i + 1 < n and words[i + 1] == ":" and len(t) > 1 and _CAPS_HEADER.match(t):
            pending = words[i - 1] in {",", ";", "."} or bool(space[i - 1])  # i > 0: pending is True at 0
        if t in _BULLET_GLYPHS:
            pending = True
        if pending:
            starts[i] = True
            pending = False
        if t in _TERMINALS and not _period_is_internal(tokens, i):
            after_terminal = True
    starts[0] = True
    _join_marker_only_sentences(tokens, starts)
    # one bulk write: setting token.is_sent_start one by one re-validates the whole Doc each time (O(n^2))
    doc.from_array([SENT_START], np.where(starts, 1, -1).astype(np.uint64).reshape(-1, 1))
    return doc


def _join_marker_only_sentences(tokens: _Tokens, starts: np.ndarray) -> None:
    """A sentence made only of list markers joins the next sentence (the last one joins the previous)."""
    firsts = np.flatnonzero(starts).tolist()
    ends = firsts[1:] + [len(tokens.words)]
    text, idx, words = tokens.text, tokens.idx, tokens.words
    merged: list[list] = []  # [first token, only markers so far]
    for first, end in zip(firsts, ends):
        only = _MARKERS_ONLY.fullmatch(text[idx[first]: idx[end - 1] + len(words[end - 1])].strip()) is not None
        if merged and merged[-1][1]:
            starts[first] = False
            merged[-1][1] = only
        else:
            merged.append([first, only])
    if len(merged) > 1 and merged[-1][1]:
        starts[merged[-1][0]] = False


def _period_is_internal(tokens: _Tokens, i: int) -> bool:
    """A '.' that belongs to an abbreviation, an initial or a list number rather than ending a sentence."""
    if tokens.words[i] != "." or i == 0:
        return False
    prev = i - 1
    if tokens.space[prev] or tokens.trailing_space[prev]:
        return False
    word = tokens.words[prev]
    if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):  # initials: 'Jonas E. Smith'
        return True
    if tokens.like_num[prev] and len(word) <= 2 and (prev == 0 or tokens.space[prev - 1]):
        return True  # "1." at the start of a line is a list marker
    return False


def _line_break_ends_sentence(tokens: _Tokens, i: int) -> bool:
    """Whether a single line break (token ``i`` is the whitespace) separates two sentences."""
    prev = tokens.words[i - 1] if i else None
    if prev is not None and prev.endswith(":"):
        return True
    text = tokens.text
    line_start = tokens.idx[i] + tokens.words[i].rfind("\n") + 1
    line_end = text.find("\n", line_start)
    next_line = text[line_start: line_end if line_end >= 0 else len(text)].lstrip()
    if prev is not None and prev.endswith(".") and next_line[:1].isupper():
        return True  # "... p.r.n.\nI will see her": an abbreviation closing a line, a capital opening the next
    return bool(_BULLET.match(next_line) or _HEADER_LINE.match(next_line))
