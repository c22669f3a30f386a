"""Exception types raised by nlu_lite.

Every message says what happened, shows the bad value, lists the valid options where there are
any, and gives the fix. Each message starts with a code (``[E042]``) that names one situation (as spaCy's
codes do): the code is written once, at the one place that raises it, so searching the code finds both the
docs and the source. The class says the kind of problem, and also subclasses the builtin a user would
naturally catch (``LookupError``, ``FileNotFoundError``, ``ValueError`` ...).
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
    "CacheError",
    "OutputError",
    "WorkerError",
]


class NluLiteError(Exception):
    """Base class of every error nlu_lite raises on purpose."""

    def __init__(self, code: str, message: str) -> None:
        if not (isinstance(code, str) and len(code) == 4 and code[0] == "E" and code[1:].isdigit()):
            raise TypeError(f"nlu_lite error codes look like 'E042', got {code!r}")
        self.code = code
        super().__init__(f"[{code}] {message}")


class UnknownModelError(NluLiteError, LookupError):
    """A model name that is neither in the catalog nor an existing folder.

    The message is ``problem`` (what happened, with the closest catalog names, also in ``suggestions``) and
    then ``fix`` (the Python calls that help); the command line shows ``problem`` with its own fix instead.
    """

    def __init__(self, code: str, problem: str, *, fix: str, suggestions: tuple[str, ...] = ()) -> None:
        self.problem, self.fix, self.suggestions = problem, fix, tuple(suggestions)
        super().__init__(code, f"{problem} {fix}")


class ModelNotAvailableError(NluLiteError, FileNotFoundError):
    """The model is in the catalog but its files are nowhere we may look (offline, no cache)."""


class ModelLoadError(NluLiteError, RuntimeError):
    """Model files were found but are unusable (corrupt, incomplete, inconsistent)."""


class InvalidOptionError(NluLiteError, ValueError):
    """An argument has a value outside the accepted set."""


class InvalidInputError(NluLiteError, TypeError, ValueError):
    """The data passed to ``predict`` cannot be read as texts."""


class CatalogError(NluLiteError, ValueError):
    """The model catalog file is malformed."""



class OutputError(NluLiteError, OSError):
    """An output file cannot be written where asked (missing folder, a folder in the way, no permission, disk
    full); any previous file at that path is left as it was."""


class CacheError(NluLiteError, OSError):
    """The vector cache file cannot be used (not a cache, another format, a folder, missing)."""


class WorkerError(NluLiteError, RuntimeError):
    """A helper process (``segment_processes``) stopped before it finished its part (killed, out of memory)."""
