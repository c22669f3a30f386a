"""The package and its catalog functions import no heavy library (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "spacy", "tokenizers", "pyspark")


@pytest.mark.parametrize("code", [
    "import nlu_lite",
    "import nlu_lite; nlu_lite.catalog(); nlu_lite.search('clinical'); nlu_lite.errors.NluLiteError",
    "from nlu_lite import levels; from nlu_lite.pipeline import _pooling, _spec, _frames; levels.names()",
])
def test_light_import_does_not_import_torch_transformers_or_spacy(code):
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_light_import_load_is_reachable_lazily():
    probe = ("import nlu_lite, sys, json\nassert callable(nlu_lite.load)\n"
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_light_import_spacy_waits_for_a_level_that_segments(minilm_dir):
    # spaCy (and through thinc, torch) costs about 2 s to import: document level never needs it
    probe = (f"import nlu_lite, sys\npipe = nlu_lite.load(path={str(minilm_dir)!r}, progress=False)\n"
             "pipe.predict('Patient denies pain.', output_level='document')\nprint('spacy' in sys.modules)\n"
             "pipe.predict('Patient denies pain.', output_level='sentence')\nprint('spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.split() == ["False", "True"]
