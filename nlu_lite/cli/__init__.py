"""The ``nlu-lite`` command line (also ``python -m nlu_lite``).

- ``_main``: the parser, the commands and their one-line errors;
- ``_paths``: input, output and cache paths checked before any model loads;
- ``_inputs``: CSV, JSONL, Parquet and text files read into a frame;
- ``_outputs``: results written atomically as JSONL, CSV or Parquet.
"""

from ._main import main

__all__ = ["main"]
