"""The shared MTSamples notes the benchmarks read (beside the development checkout, never copied here)."""

from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"


def column(name: str, limit: int | None = None) -> list[str] | None:
    """The first ``limit`` non-empty values of a column (``transcription``, ``description`` ...) as they are;
    ``None``, after printing why, where the shared data is absent."""
    if not DATA.is_file():
        print(f"skipped: {DATA} not found (the shared data lives beside the development checkout)")
        return None
    with DATA.open(newline="", encoding="utf-8") as f:
        values = [row[name] for row in csv.DictReader(f) if row[name].strip()]
    return values[:limit]
