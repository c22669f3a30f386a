"""The options of ``predict``, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import levels, pooling
from .errors import InvalidOptionError


@dataclass(frozen=True)
class Settings:
    """Per-pipeline defaults of ``predict``; change them with ``Pipeline.set``."""

    output_level: str
    subword_pooling: str = "first"
    pooling: str = "mean"
    normalize: bool = False
    positions: bool = False
    batch_tokens: int = 8192
    max_batch_size: int = 64
    chunk_size: int = 256
    max_wordpieces: int | None = None  # window size, [CLS]/[SEP] included; None: the catalog's limit
    progress: bool = True  # a progress bar (tqdm.auto) on predictions that last more than a second

    def validate(self) -> Settings:
        levels.get(self.output_level)  # raises, listing the registered levels
        choices = {"subword_pooling": pooling.SUBWORD_POOLINGS,
                   "pooling": pooling.UNIT_POOLINGS}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise InvalidOptionError(
                    "E051", f"{name}={getattr(self, name)!r} is not valid; choose one of {list(valid)}.")
        for name in ("batch_tokens", "max_batch_size", "chunk_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidOptionError("E052", f"{name}={value!r} must be a positive integer.")
        if self.max_wordpieces is not None and (
                not isinstance(self.max_wordpieces, int) or isinstance(self.max_wordpieces, bool)
                or self.max_wordpieces < 4):
            raise InvalidOptionError(
                "E053", f"max_wordpieces={self.max_wordpieces!r} must be an integer >= 4 (or None).")
        for name in ("normalize", "positions", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidOptionError("E054", f"{name}={getattr(self, name)!r} must be True or False.")
        return self

    def updated(self, caller: str, **options: object) -> Settings:
        """A validated copy with ``options`` applied; unknown names are an error naming ``caller``."""
        valid = sorted(Settings.__dataclass_fields__)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise InvalidOptionError("E055", f"{caller} got unknown options {unknown}; valid: {valid}.")
        return replace(self, **options).validate()
