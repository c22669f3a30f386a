"""End to end: ``nlu_lite.load(..., runtime="openvino")`` gives the torch runtime's vectors, and bundles keep it."""

from __future__ import annotations

import numpy as np
import pytest
from openvino_helpers import requires_openvino
from registered import TEXT_LEVELS

import nlu_lite

pytestmark = [requires_openvino, pytest.mark.slow]
TEXTS = ["Patient denies chest pain. Takes aspirin 81 mg daily.",
         "BP 120/80, HR 72; no fever or cough. Dr. Smith will follow up in 2 weeks."]


@pytest.fixture(scope="module", autouse=True)
def ov_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NLU_LITE_CACHE", str(tmp_path_factory.mktemp("nlu_lite_cache")))
        yield


@pytest.fixture(scope="module")
def torch_pipe(minilm_dir):
    return nlu_lite.load(path=minilm_dir, runtime="torch", threads=2)


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_openvino_pipeline_fp32_equals_torch_runtime(minilm_dir, torch_pipe, level):
    pipe = nlu_lite.load(path=minilm_dir, runtime="openvino", threads=2)
    ours, reference = pipe.predict(TEXTS, output_level=level), torch_pipe.predict(TEXTS, output_level=level)
    assert ours.drop(columns=pipe.column_name).equals(reference.drop(columns=torch_pipe.column_name))
    np.testing.assert_allclose(nlu_lite.to_numpy(ours), nlu_lite.to_numpy(reference), atol=2e-5)


def test_openvino_pipeline_bundle_restores_runtime_and_precision(minilm_dir, tmp_path):
    pipe = nlu_lite.load(path=minilm_dir, runtime="openvino", precision="int8", threads=2)
    again = nlu_lite.load(path=pipe.save(tmp_path / "bundle"))
    assert (again.encoder.runtime.name, again.encoder.runtime.precision) == ("openvino", "int8")
    np.testing.assert_array_equal(nlu_lite.to_numpy(again.predict(TEXTS)), nlu_lite.to_numpy(pipe.predict(TEXTS)))


def test_openvino_pipeline_warm_start_at_document_level_imports_neither_torch_nor_spacy(minilm_dir):
    import json
    import subprocess
    import sys

    nlu_lite.load("minilm", path=minilm_dir, runtime="openvino", threads=2)  # converts into this module's cache
    probe = (f"import sys, json, nlu_lite\npipe = nlu_lite.load('minilm', path={str(minilm_dir)!r}, "
             "runtime='openvino', threads=2, progress=False)\n"
             "vector = nlu_lite.to_numpy(pipe.predict('Patient denies chest pain.', output_level='document'))\n"
             "print(json.dumps([vector.shape[1], sorted(m for m in ('torch', 'spacy') if m in sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(out.stdout.splitlines()[-1]) == [384, []]
