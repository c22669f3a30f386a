"""Documents to tokens, sentences and sections, all as character offsets into the original text.

The tokenizer is spaCy's English rule tokenizer with clinical additions (dosing abbreviations such as
``b.i.d.`` kept whole, a leading comma split off ``,MEDICATIONS``), bounded so that its cost is linear in
the text's length (``_bounded_tokenizer.py``: normal text is tokenized exactly as spaCy does; whitespace-free
runs over 500 characters are tokenized in pieces). Sentences come from the clinical rules in
``_sentence_rules.py`` (or spaCy's ``sentencizer``), both with one rule for list markers: a marker starts the
sentence of the item after it and is never a sentence on its own. Each sentence carries the section it
falls under (``_sections.py``). Sentence-boundary F1 is in docs/sentence_splitting.md (benchmarks/sentence_split.py).

Lone surrogates (``'\\ud800'``, e.g. from ``bytes.decode('utf-8', 'surrogateescape')``) cannot be encoded,
so spaCy and the wordpiece tokenizer reject them. ``segment()`` works on ``sanitize(text)``, a copy of the
same length with each surrogate replaced by U+FFFD, and its offsets index the original text, so every row
survives and slices of the original are what the user sees. Pass ``sanitize(text)`` to any other tokenizer
too: BERT-style tokenizers drop U+FFFD, so a token made only of surrogates has no wordpiece (a NaN vector).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import spacy
from spacy.attrs import IDX, IS_SPACE, LENGTH, SENT_START
from spacy.language import Language
from spacy.symbols import ORTH

from ..pipeline._documents import sanitize
from . import _sentence_rules as sentence_rules  # noqa: F401  (registers the spaCy components)
from ._bounded_tokenizer import BoundedTokenizer, fast_suffix_search
from ._sections import sentence_sections
from ._splitters import SENTENCE_SPLITTERS, check_splitter

# Dosing and Latin abbreviations kept as one token (spaCy would split off the final period).
_CLINICAL_SPECIAL_CASES = (
    "b.i.d. t.i.d. q.i.d. q.d. q.o.d. p.r.n. p.o. q.h.s. h.s. a.c. p.c. q.a.m. q.p.m. i.v. i.m. s.c. "
    "s.l. o.d. o.s. o.u. y.o. e.g. i.e. a.m. p.m. w.n.l. n.p.o. s.o.b. c.o.p.d."
).split()
_NLP_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def build_nlp(sentence_splitter: str = "clinical") -> Language:
    """A blank English spaCy pipeline: clinical tokenizer plus the chosen sentence splitter.

    ``sentence_splitter``: a name of ``SENTENCE_SPLITTERS``: ``"clinical"`` (ours) or ``"sentencizer"`` (spaCy's
    punctuation rules); the list-marker rule applies to both.
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
    nlp.tokenizer.suffix_search = fast_suffix_search(nlp.Defaults.suffixes)  # same matches, no quadratic scan
    nlp.tokenizer = BoundedTokenizer(nlp.tokenizer)
    for component in SENTENCE_SPLITTERS[check_splitter(sentence_splitter)]:
        nlp.add_pipe(component)
    return nlp


@dataclass(frozen=True)
class Segments:
    """Tokens and sentences of a batch of documents, flat, as offsets into each document's text.

    ``token_doc[k]`` is the document position of token ``k``; ``token_sentence[k]`` its sentence number
    within that document. Whitespace is not a token; sentences are trimmed of surrounding whitespace.
    ``sentence_section[s]`` is the canonical section name of sentence ``s`` (an object array of ``str``,
    ``None`` before a document's first header; see ``_sections.py``); left out, every sentence has none.
    """

    token_doc: np.ndarray
    token_begin: np.ndarray
    token_end: np.ndarray
    token_sentence: np.ndarray
    sentence_doc: np.ndarray
    sentence_begin: np.ndarray
    sentence_end: np.ndarray
    sentence_section: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.sentence_section is None:
            object.__setattr__(self, "sentence_section", np.full(len(self.sentence_doc), None, dtype=object))

    def token_section(self) -> np.ndarray:
        """The section of each token (object array, ``None`` before the first header), from its sentence."""
        first_sentence = np.searchsorted(self.sentence_doc, self.token_doc, side="left")
        return self.sentence_section[first_sentence + self.token_sentence]


def segment(texts: list[str], nlp: Language) -> Segments:
    """Tokenize, sentence-split and section ``texts`` (every one non-empty after stripping)."""
    clean = [sanitize(text) for text in texts]
    with _NLP_LOCK:  # build_nlp() shares one pipeline per splitter, and spaCy's tokenizer cache is not thread-safe
        arrays = [doc.to_array([IDX, LENGTH, IS_SPACE, SENT_START]).astype(np.int64)
                  for doc in nlp.pipe(clean, batch_size=64)]
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
    sentence_doc, sentence_begin, sentence_end = join(sen_doc), join(sen_b), join(sen_e)
    section = sentence_sections(clean, sentence_doc, sentence_begin, sentence_end)
    return Segments(join(tok_doc), join(tok_b), join(tok_e), join(tok_s), sentence_doc, sentence_begin, sentence_end,
                    section)


def join_segments(parts: list[Segments], n_docs: list[int]) -> Segments:
    """The segments of consecutive parts of one list of texts (part ``k`` holds ``n_docs[k]`` texts) as one,
    each part's document positions shifted past the texts before it."""
    base = np.cumsum([0, *n_docs[:-1]]).astype(np.int64)

    def joined(name: str, shift: bool = False) -> np.ndarray:
        arrays = [getattr(part, name) + (b if shift else 0) for part, b in zip(parts, base)]
        return np.concatenate(arrays) if arrays else np.zeros(0, np.int64)

    section = np.concatenate([p.sentence_section for p in parts]) if parts else np.zeros(0, dtype=object)
    return Segments(joined("token_doc", True), joined("token_begin"), joined("token_end"), joined("token_sentence"),
                    joined("sentence_doc", True), joined("sentence_begin"), joined("sentence_end"), section)
