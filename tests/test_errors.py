"""Error codes: one code per situation, written once at the place that raises it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from nlu_lite import errors

PACKAGE = Path(errors.__file__).parent


def test_errors_each_code_is_raised_at_exactly_one_place():
    uses = Counter()
    for path in PACKAGE.rglob("*.py"):
        for code in re.findall(r'Error\(\s*"(E\d{3})"', path.read_text("utf-8")):
            uses[code] += 1
    assert len(uses) > 50
    assert {code: n for code, n in uses.items() if n > 1} == {}


@pytest.mark.parametrize("code", ["E1", "42", "e042", None])
def test_errors_malformed_code_is_a_programming_error(code):
    with pytest.raises(TypeError, match="look like 'E042'"):
        errors.InvalidOptionError(code, "message")


def test_errors_message_starts_with_code_and_subclasses_builtin():
    error = errors.ModelNotAvailableError("E123", "not here")
    assert str(error) == "[E123] not here" and error.code == "E123"
    assert isinstance(error, FileNotFoundError) and isinstance(error, errors.NluLiteError)
