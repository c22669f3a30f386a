"""``sample_notes()``: the packaged synthetic clinical notes (``notes.yaml``) as a DataFrame."""

from __future__ import annotations

from importlib import resources

import pandas as pd
import yaml

FILE = "notes.yaml"


def sample_notes() -> pd.DataFrame:
    """80 short synthetic clinical notes, 16 in each of five specialties, to try nlu_lite on without data.

    The notes were written for nlu_lite by its developers: they describe no real patient, copy no other source,
    and are released under nlu_lite's licence (Apache-2.0). Each has section headers (``HPI:``,
    ``MEDICATIONS:``, ``ASSESSMENT:``, ``PLAN:`` ...), clinical abbreviations (``h/o``, ``b.i.d.``, ``SOB``) and
    negations (``denies syncope``, ``no fever``), one header per line.

    Returns:
        A DataFrame with one row per note and the columns ``note_id`` (int64, 1 to 80), ``specialty``
        (``cardiology``, ``pulmonology``, ``gastroenterology``, ``orthopedics`` or ``neurology``) and ``text``.
        A new frame on every call: change it freely.

    >>> notes = nlu_lite.sample_notes()                                          # doctest: +SKIP
    >>> docs = nlu_lite.load().predict(notes, output_level="document", id_column="note_id")  # doctest: +SKIP
    """
    data = yaml.safe_load(resources.files(__package__).joinpath(FILE).read_text("utf-8"))
    notes = data["notes"]
    return pd.DataFrame({"note_id": pd.Series(range(1, len(notes) + 1), dtype="int64"),
                         "specialty": [n["specialty"] for n in notes],
                         "text": [n["text"].rstrip("\n") for n in notes]})
