"""Exception types raised by nlu_lite.

Every message says what happened, shows the bad value, lists the valid options where there are
any, and gives the fix. Each message starts with a code (``[E001]``) so it can be searched for.
Each class also subclasses the builtin a user would naturally catch.
"""

from __future__ import annotations

__all__ = [
    "NluLiteError",
    "UnknownModelError",
    "ModelNotAvailableError",
    "ModelLoadError",
    "InvalidOptionError",
    "InvalidInputError",
    "CatalogError",
]


class NluLiteError(Exception):
    """Base class of every error nlu_lite raises on purpose."""

    code = "E000"

    def __init__(self, message: str) -> None:
        super().__init__(f"[{self.code}] {message}")


class UnknownModelError(NluLiteError, LookupError):
    """A model name that is neither in the catalog nor an existing folder."""

    code = "E001"


class ModelNotAvailableError(NluLiteError, FileNotFoundError):
    """The model is in the catalog but its files are nowhere we may look (offline, no cache)."""

    code = "E002"


class ModelLoadError(NluLiteError, RuntimeError):
    """Model files were found but are unusable (corrupt, incomplete, inconsistent)."""

    code = "E003"


class InvalidOptionError(NluLiteError, ValueError):
    """An argument has a value outside the accepted set."""

    code = "E004"


class InvalidInputError(NluLiteError, TypeError, ValueError):
    """The data passed to ``predict`` cannot be read as texts."""

    code = "E005"


class CatalogError(NluLiteError, ValueError):
    """The model catalog file is malformed."""

    code = "E006"
