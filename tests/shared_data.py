"""The shared data beside the checkout (../shared/data), read by tests and skipped with a reason where absent."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

def shared_path(relative: str) -> Path:
    """A file under ../shared/data, or a skip saying why it is absent (a user's machine has no shared/)."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"shared data {relative} not found at {path} (only present beside the development checkout)")
    return path


def mtsamples_notes(n: int) -> list[str]:
    """The first ``n`` non-empty MTSamples transcriptions."""
    notes = []
    with shared_path("mtsamples/mtsamples.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["transcription"].strip():
                notes.append(row["transcription"])
            if len(notes) == n:
                break
    return notes


def negex_sentences() -> list[str]:
    lines = shared_path("negex/Annotations-1-120.txt").read_text("utf-8", errors="replace").splitlines()[1:]
    return [line.split("\t")[2].strip('"') for line in lines if line.count("\t") >= 3]


def gold_texts() -> list[str]:
    texts = []
    for rel in ("pyrush/pyrush_gold.jsonl", "scispacy/scispacy_segmentation_gold.jsonl",
                "pysbd/pysbd_golden_rules.jsonl"):
        texts += [json.loads(line)["text"] for line in shared_path(rel).read_text("utf-8").splitlines()]
    texts.append(shared_path("medspacy/discharge_summary.txt").read_text("utf-8"))
    return texts
