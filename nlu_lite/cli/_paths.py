"""The file paths the command line is given, checked before anything heavy is imported or read.

Standard library only, so ``nlu-lite predict --input missing.csv`` answers in a fraction of a second.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from ..errors import InvalidInputError, OutputError

INPUT_SUFFIXES = (".csv", ".jsonl", ".parquet", ".txt")
OUTPUT_SUFFIXES = (".jsonl", ".csv", ".parquet")


def check_input(path: Path) -> None:
    """Raise ``InvalidInputError`` unless ``path`` is an existing file with a suffix we read."""
    if path.suffix not in INPUT_SUFFIXES:
        raise InvalidInputError("E002", f"Input '{path}' has suffix {path.suffix!r}; use .csv, .parquet, .jsonl or "
                                ".txt.")
    if not path.exists():
        raise InvalidInputError(
            "E001", f"Input file '{path}' does not exist; pass an existing .csv, .parquet, .jsonl or .txt file.")
    if path.is_dir():
        raise InvalidInputError(
            "E101", f"Input '{path}' is a folder; pass a file in it, e.g. --input '{path}/notes.csv'.")


def check_output(path: Path) -> None:
    """Raise unless a file can be written at ``path``: not a folder, known suffix, existing writable folder."""
    if path.is_dir():
        raise OutputError("E117", f"Output '{path}' is a folder; name a file in it, e.g. --output '{path}/vectors"
                          f"{path.suffix or '.parquet'}'.")
    if path.suffix not in OUTPUT_SUFFIXES:
        raise InvalidInputError(
            "E003", f"Output '{path}' has suffix {path.suffix!r}; use .csv, .parquet or .jsonl.")
    folder = path.parent
    if not folder.exists():
        raise OutputError("E118", f"The folder of output '{path}' does not exist; create it first: "
                          f"mkdir -p '{folder}'.")
    if not folder.is_dir():
        raise OutputError("E119", f"Output '{path}' lies under '{folder}', which is a file, not a folder; choose "
                          "another --output path.")
    if path.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise OutputError("E120", f"Writing '{path}' needs pyarrow: pip install 'nlu-lite[parquet]' (or pip install "
                          "pyarrow), or write .jsonl or .csv.")
    try:
        _probe(folder)
    except OSError as e:
        raise OutputError("E121", f"Cannot create files in '{folder}' for output '{path}' ({e.strerror or e}); "
                          "choose a folder you may write to, e.g. --output ./vectors" + path.suffix + ".") from None


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``: the honest test of "may I create files here" (permissions,
    read-only mounts, /proc); raises ``OSError`` if not."""
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".nlu-lite.", suffix=".probe")
    os.close(fd)
    os.unlink(probe)


def check_cache(path: Path) -> None:
    """Raise unless ``path`` can be a vector cache file: not a folder, in an existing folder we may write to."""
    if path.is_dir():
        raise OutputError("E126", f"--cache '{path}' is a folder; name a file in it, e.g. --cache "
                          f"'{path}/vectors.sqlite'.")
    above = next(p for p in path.parents if p.exists())  # the root always exists
    if not above.is_dir():
        raise OutputError("E131", f"--cache '{path}' lies under '{above}', which is a file, not a folder; choose "
                          "another --cache path, e.g. --cache ./vectors.sqlite.")
    if not path.parent.is_dir():
        raise OutputError("E127", f"The folder of --cache '{path}' does not exist; create it first: "
                          f"mkdir -p '{path.parent}'.")
    try:
        if path.exists():
            with open(path, "r+b"):
                pass
        else:
            _probe(path.parent)
    except OSError as e:
        raise OutputError("E130", f"--cache '{path}' cannot be written ({e.strerror or e}); choose a file you may "
                          "write to, e.g. --cache ./vectors.sqlite.") from None
