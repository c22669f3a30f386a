"""Documents to tokens and sentences with spaCy, all as character offsets into the original text.

The tokenizer is spaCy's English rule tokenizer with clinical additions (dosing abbreviations such as
``b.i.d.`` kept whole, a leading comma split off ``,MEDICATIONS``). Sentences come from
``clinical_sentences``, a rule component made for clinical layout: it ends sentences at terminal
punctuation except after abbreviations, initials, list numbers or before a lowercase continuation;
at blank lines; at line breaks before bullets, numbered items and ``Header:`` lines or after a line
ending in a colon; and before inline ALL-CAPS section headers (``...,ALLERGIES: , She ...``).
Its sentence-boundary F1 against spaCy's ``sentencizer`` is in the README (benchmarks/sentence_split.py).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import spacy
from spacy.attrs import IDX, IS_SPACE, LENGTH, SENT_START
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokens import Doc

_TERMINALS = frozenset({".", "!", "?", "...", "…", "?!", "!?", "!!", "??", "。", "！", "？"})
# Words that take a period without ending a sentence (compared lowercased, without the period).
_ABBREVIATIONS = frozenset(
    """
    dr mr mrs ms mx prof sr jr st vs v fig figs eq eqs sec sect ref refs no nos vol pp ch approx ca cf
    al resp inc ltd corp dept univ e.g i.e etc. ex incl max min avg est jan feb mar apr jun jul aug
    sep sept oct nov dec pt pts dx tx hx rx sx fx yo y.o q.d b.i.d t.i.d q.i.d p.r.n p.o q.h.s h.s a.c
    p.c q.o.d q.a.m q.p.m i.v i.m s.c s.l o.d o.s o.u a.d a.s a.u u.s hr hrs wk wks mo mos yr yrs
    """.split()
)
# Dosing and Latin abbreviations kept as one token (spaCy would split off the final period).
_CLINICAL_SPECIAL_CASES = (
    "b.i.d. t.i.d. q.i.d. q.d. q.o.d. p.r.n. p.o. q.h.s. h.s. a.c. p.c. q.a.m. q.p.m. i.v. i.m. s.c. "
    "s.l. o.d. o.s. o.u. y.o. e.g. i.e. a.m. p.m. w.n.l. n.p.o. s.o.b. c.o.p.d."
).split()
_BULLET = re.compile(r"^(?:[•·▪◦‣∙*+\-–—]|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)](?=\s)|#\d+)")
_HEADER_LINE = re.compile(r"^[A-Z][A-Za-z /&()\-]{0,40}:")
_CAPS_HEADER = re.compile(r"^[A-Z][A-Z/&\-]+$")
_NLP_LOCK = threading.Lock()
_OPENING_QUOTES = frozenset({'"', "“", "'", "‘", "(", "["})


@Language.component("nlu_lite_clinical_sentences")
def clinical_sentences(doc: Doc) -> Doc:
    """Set ``is_sent_start`` on every token by the clinical rules described in the module docstring."""
    text = doc.text
    n = len(doc)
    starts = np.zeros(n, dtype=bool)
    pending = True  # the next content token starts a sentence
    after_terminal = False
    for i, token in enumerate(doc):
        t = token.text
        if token.is_space:
            newlines = t.count("\n")
            if newlines >= 2 or (newlines == 1 and _line_break_ends_sentence(doc, i, text)):
                pending = True
            continue
        # a quote glued to the period closes the sentence: 'great." she said'
        attached = i > 0 and not doc[i - 1].is_space and not doc[i - 1].whitespace_
        if after_terminal and not (token.is_punct and (attached or t not in _OPENING_QUOTES)):
            pending = pending or not t[:1].islower()
            after_terminal = False
        if not pending and _CAPS_HEADER.match(t) and i + 1 < n and doc[i + 1].text == ":" and len(t) > 1:
            prev = doc[i - 1].text if i else ","
            pending = prev in {",", ";", "."} or doc[i - 1].is_space
        if pending:
            starts[i] = True
            pending = False
        if t in _TERMINALS and not _period_is_internal(doc, i):
            after_terminal = True
    if n:
        starts[0] = True
        # one bulk write: setting token.is_sent_start one by one re-validates the whole Doc each time (O(n^2))
        doc.from_array([SENT_START], np.where(starts, 1, -1).astype(np.uint64).reshape(-1, 1))
    return doc


def _period_is_internal(doc: Doc, i: int) -> bool:
    """A '.' that belongs to an abbreviation, an initial or a list number rather than ending a sentence."""
    if doc[i].text != "." or i == 0:
        return False
    prev = doc[i - 1]
    if prev.is_space or prev.whitespace_:
        return False
    word = prev.text.lower()
    if word in _ABBREVIATIONS or (len(prev.text) == 1 and prev.text.isupper()):  # initials: 'Jonas E. Smith'
        return True
    if prev.like_num and len(prev.text) <= 2 and (prev.i == 0 or doc[prev.i - 1].is_space):
        return True  # "1." at the start of a line is a list marker
    return False


def _line_break_ends_sentence(doc: Doc, i: int, text: str) -> bool:
    """Whether a single line break (token ``i`` is the whitespace) separates two sentences."""
    prev = doc[i - 1] if i else None
    if prev is not None and prev.text.endswith(":"):
        return True
    line_start = doc[i].idx + doc[i].text.rfind("\n") + 1
    line_end = text.find("\n", line_start)
    next_line = text[line_start: line_end if line_end >= 0 else len(text)].lstrip()
    if prev is not None and prev.text.endswith(".") and next_line[:1].isupper():
        return True  # "... p.r.n.\nI will see her": an abbreviation closing a line, a capital opening the next
    return bool(_BULLET.match(next_line) or _HEADER_LINE.match(next_line))


@lru_cache(maxsize=4)
def build_nlp(sentence_splitter: str = "clinical") -> Language:
    """A blank English spaCy pipeline: clinical tokenizer plus the chosen sentence splitter.

    ``sentence_splitter`` is ``"clinical"`` (ours) or ``"sentencizer"`` (spaCy's punctuation rules).
    """
    nlp = spacy.blank("en")
    nlp.max_length = 10**9  # tokenizer and rules only: memory grows with the text, not quadratically
    for case in _CLINICAL_SPECIAL_CASES:
        for variant in {case, case.upper()}:
            nlp.tokenizer.add_special_case(variant, [{ORTH: variant}])
    # MTSamples glues section headers with commas: "allergies.,MEDICATIONS: , Her ..."
    prefixes = list(nlp.Defaults.prefixes) + [r",(?=[A-Za-z])"]
    nlp.tokenizer.prefix_search = spacy.util.compile_prefix_regex(prefixes).search
    infixes = list(nlp.Defaults.infixes) + [r"(?<=[.:;]),(?=[A-Za-z])"]
    nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
    if sentence_splitter == "clinical":
        nlp.add_pipe("nlu_lite_clinical_sentences")
    elif sentence_splitter == "sentencizer":
        nlp.add_pipe("sentencizer")
    else:
        raise ValueError(f"unknown sentence_splitter {sentence_splitter!r}")
    return nlp


@dataclass(frozen=True)
class Segments:
    """Tokens and sentences of a batch of documents, flat, as offsets into each document's text.

    ``token_doc[k]`` is the document position of token ``k``; ``token_sentence[k]`` its sentence number
    within that document. Whitespace is not a token; sentences are trimmed of surrounding whitespace.
    """

    token_doc: np.ndarray
    token_begin: np.ndarray
    token_end: np.ndarray
    token_sentence: np.ndarray
    sentence_doc: np.ndarray
    sentence_begin: np.ndarray
    sentence_end: np.ndarray


def segment(texts: list[str], nlp: Language) -> Segments:
    """Tokenize and sentence-split ``texts`` (every one non-empty after stripping)."""
    with _NLP_LOCK:  # build_nlp() shares one pipeline per splitter, and spaCy's tokenizer cache is not thread-safe
        arrays = [doc.to_array([IDX, LENGTH, IS_SPACE, SENT_START]).astype(np.int64)
                  for doc in nlp.pipe(texts, batch_size=64)]
    tok_doc, tok_b, tok_e, tok_s, sen_doc, sen_b, sen_e = ([] for _ in range(7))
    for d, array in enumerate(arrays):
        begin, length, space, start = array.T
        # a sentence starts at the first content token after a boundary (which may sit on whitespace)
        boundary_seen = np.cumsum(start == 1)
        content = np.flatnonzero(space == 0)
        previous = np.r_[0, boundary_seen[content][:-1]] if len(content) else content
        sentence = np.cumsum(boundary_seen[content] > previous) - 1
        firsts = np.flatnonzero(np.r_[True, sentence[1:] != sentence[:-1]]) if len(content) else content
        lasts = np.r_[firsts[1:] - 1, len(content) - 1] if len(content) else content
        tok_doc.append(np.full(len(content), d))
        tok_b.append(begin[content])
        tok_e.append(begin[content] + length[content])
        tok_s.append(sentence)
        sen_doc.append(np.full(len(firsts), d))
        sen_b.append(begin[content][firsts])
        sen_e.append((begin + length)[content][lasts])
    join = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
    return Segments(join(tok_doc), join(tok_b), join(tok_e), join(tok_s), join(sen_doc), join(sen_b), join(sen_e))
