"""Sample data shipped inside the package, so every example runs from a clone with no data of your own.

- ``_notes``: ``sample_notes()``, 80 short synthetic clinical notes in five specialties (``notes.yaml``), written
  for this project (no real patient, no third-party text; Apache-2.0 as nlu_lite).
"""
