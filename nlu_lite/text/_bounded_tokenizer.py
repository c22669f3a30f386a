"""spaCy's rule tokenizer with its cost bounded: linear in the text's length, whatever the text.

spaCy's tokenizer is quadratic on long runs of characters it splits off one at a time (``(``, ``,``, ``$``,
emoji ...): for every piece it peels off, it searches the whole rest of the run for a suffix and copies and
hashes that rest again (16,000 ``(`` took 26 s; 200,000 would take hours). Two changes bound it:

1. ``fast_suffix_search``: the same suffix rules, searched only where a match can start. A rule of bounded
   width ``w`` (all of spaCy's but one) can only match in the last ``w + 1`` characters, so it is searched
   from there (``pattern.search(text, pos)`` still sees the characters before ``pos`` for lookbehinds, so
   every match is the one the full search finds); the unbounded rules (``\\.\\.+``) are searched as before.
   The result is identical to spaCy's suffix search (tests compare them on random and real text).
2. ``BoundedTokenizer``: a whitespace-free run longer than ``max_span`` characters (default 500; no
   MTSamples note has one over 64) is tokenized in pieces of at most ``max_span`` characters, cut where
   the character class changes (letter/digit next to punctuation or symbol) when there is such a place in
   the last half of the piece, never before a combining mark, joiner or variation selector. Text without
   such runs goes to spaCy's tokenizer untouched, so normal tokenization is exactly spaCy's; inside a long
   run a token can end at a cut (``"x" * 5000`` becomes ten tokens of 500 characters).

Offsets stay exact either way: the tokens and whitespace of the ``Doc`` concatenate to the input text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

try:  # Python >= 3.11
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

MAX_SPAN = 500
_BOUNDED_WIDTH = 64  # rules wider than this (or unbounded) are searched over the whole string
_RUN_RULE = re.compile(r"(\\?[^\\])\1\+\$")  # a rule like '\.\.+$': two or more of one character
_GLUE = frozenset({"\u200d", "\u200c", "\u034f"})  # joiners: never cut next to them


class _SuffixSearch:
    """A callable equal to ``compile_suffix_regex(entries).search``, searching only where matches can start."""

    def __init__(self, entries: Sequence[str]) -> None:
        pieces = [piece + "$" for piece in entries if piece.strip()]  # as spacy.util.compile_suffix_regex
        bounded, runs, other, width = [], [], [], 0
        for piece in pieces:
            tree = _sre_parse.parse(piece)
            anchored = len(tree) > 0 and tree[-1] == (_sre_parse.AT, _sre_parse.AT_END)
            high = tree.getwidth()[1]
            char = _run_char(piece)
            if anchored and high <= _BOUNDED_WIDTH:
                bounded.append(piece)
                width = max(width, high)
            elif char is not None:
                runs.append(char)
            else:
                other.append(piece)
        self._full = re.compile("|".join(pieces)) if pieces else None
        self._bounded = re.compile("|".join(bounded)) if bounded else None
        self._runs = [(char, re.compile(re.escape(char) + "+$")) for char in runs]
        self._other = re.compile("|".join(other)) if other else None
        self._reach = width + 1  # '$' also matches before a final newline

    def __call__(self, text: str) -> re.Match | None:
        if self._full is None:
            return None
        if len(text) <= self._reach or text.endswith("\n"):  # short (most tokens): one search is cheapest;
            return self._full.search(text)  # '$' before a final newline: not worth special-casing
        found = []
        if self._bounded is not None:
            found.append(self._bounded.search(text, max(0, len(text) - self._reach)))
        if self._other is not None:
            found.append(self._other.search(text))
        for char, pattern in self._runs:
            count = len(text) - len(text.rstrip(char))
            if count >= 2:
                found.append(pattern.match(text, len(text) - count))
        found = [match for match in found if match is not None]
        return min(found, key=lambda match: match.start()) if found else None


def _run_char(piece: str) -> str | None:
    """``c`` when the rule ``piece`` (``'\\.\\.+$'``) matches exactly the runs of two or more ``c``, else None."""
    run = _RUN_RULE.fullmatch(piece)
    if run is None:
        return None
    char = run.group(1)[-1]
    rule = re.compile(piece)
    matches_runs = all(rule.fullmatch(char * n) for n in (2, 3, 17))
    return char if matches_runs and not rule.fullmatch(char) and not rule.search("x" + char) else None


def fast_suffix_search(entries: Sequence[str]) -> Callable[[str], re.Match | None]:
    """The suffix search spaCy compiles from ``entries``, with the same results in time bounded by the rules."""
    return _SuffixSearch(entries)


def _can_cut(text: str, k: int) -> bool:
    """Whether a token boundary may be forced between ``text[k - 1]`` and ``text[k]``."""
    after, before = text[k], text[k - 1]
    if after in _GLUE or before in _GLUE or unicodedata.combining(after):
        return False
    modifier = "\ufe00" <= after <= "\ufe0f" or "\U0001f3fb" <= after <= "\U0001f3ff"  # variation, skin tone
    return not (modifier or unicodedata.category(after).startswith("M"))


def _class_changes(text: str, k: int) -> bool:
    return text[k - 1].isalnum() != text[k].isalnum() or not text[k].isalnum()


def _cuts(text: str, begin: int, end: int, max_span: int) -> list[int]:
    """Cut points (exclusive ends) splitting ``text[begin:end]`` into pieces of at most ``max_span`` chars."""
    cuts, start = [], begin
    while end - start > max_span:
        limit = start + max_span
        cut = next((k for k in range(limit, start + max_span // 2, -1)
                    if _class_changes(text, k) and _can_cut(text, k)), None)
        if cut is None:
            cut = next((k for k in range(limit, start + 1, -1) if _can_cut(text, k)), limit)
        cuts.append(cut)
        start = cut
    cuts.append(end)
    return cuts


class BoundedTokenizer:
    """Wraps a spaCy ``Tokenizer`` so its cost is linear in the text's length (see the module docstring)."""

    def __init__(self, tokenizer: Tokenizer, max_span: int = MAX_SPAN) -> None:
        self.tokenizer = tokenizer
        self.vocab = tokenizer.vocab
        self.max_span = max_span
        self._long_run = re.compile(rf"\S{{{max_span + 1},}}")
        self._space_run = re.compile(r"\s*")

    def __call__(self, text: str) -> Doc:
        """Tokenize ``text``: spaCy's tokens, with runs over ``max_span`` characters tokenized in pieces."""
        if self._long_run.search(text) is None:
            return self.tokenizer(text)
        words: list[str] = []
        spaces: list[bool] = []
        position = 0
        for run in self._long_run.finditer(text):
            begin, end = run.span()
            self._add(text[position:begin], words, spaces)  # ends in whitespace (or is empty)
            after = self._space_run.match(text, end).end()  # the run's trailing whitespace goes with its last piece
            start = begin
            for cut in _cuts(text, begin, end, self.max_span):
                self._add(text[start:after if cut == end else cut], words, spaces)
                start = cut
            position = after
        self._add(text[position:], words, spaces)
        return Doc(self.vocab, words=words, spaces=spaces)

    def _add(self, part: str, words: list[str], spaces: list[bool]) -> None:
        if part:
            for token in self.tokenizer(part):
                words.append(token.text)
                spaces.append(bool(token.whitespace_))

    def pipe(self, texts, batch_size: int = 1000):
        """Tokenize a stream of texts (as ``Tokenizer.pipe``), each bounded."""
        for text in texts:
            yield self(text)
