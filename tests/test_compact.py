"""Compact vectors: ``truncate_dim`` keeps the first k dimensions (Matryoshka), re-normalised where normalize is on."""

from __future__ import annotations

import numpy as np
import pytest
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite.errors import InvalidOptionError
from nlu_lite.pipeline._pooling import l2_normalize

TEXTS = ["Patient denies chest pain. BP 120/80, HR 72.", None, "Takes aspirin daily.\n\nNo fever. No cough."]


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_compact_truncate_dim_is_the_first_dimensions_of_the_full_vectors(tiny_cased, level):
    full = tiny_cased.predict(TEXTS, output_level=level, normalize=False)
    short = tiny_cased.predict(TEXTS, output_level=level, normalize=False, truncate_dim=12)
    assert short.drop(columns=tiny_cased.column_name).equals(full.drop(columns=tiny_cased.column_name))
    np.testing.assert_array_equal(nlu_lite.to_numpy(short), nlu_lite.to_numpy(full)[:, :12])
    assert nlu_lite.provenance(short)["dim"] == 12 and nlu_lite.provenance(short)["settings"]["truncate_dim"] == 12


@pytest.mark.parametrize("level", ["sentence", "document"])
def test_compact_truncated_vectors_are_normalised_again(tiny_cased, level):
    raw = nlu_lite.to_numpy(tiny_cased.predict(TEXTS, output_level=level, normalize=False))
    got = nlu_lite.to_numpy(tiny_cased.predict(TEXTS, output_level=level, normalize=True, truncate_dim=8))
    present = ~np.isnan(got).any(axis=1)
    np.testing.assert_allclose(got[present], l2_normalize(raw[present, :8]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got[present], axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(("options", "code"), [({"truncate_dim": 0}, "E078"), ({"truncate_dim": True}, "E078"),
                                               ({"truncate_dim": 8, "layers": [-1, -2], "layer_combine": "concat"},
                                                "E079"), ({"truncate_dim": 33}, "E080")])
def test_compact_bad_truncate_dim_is_refused(tiny_cased, options, code):
    with pytest.raises(InvalidOptionError, match=code):
        tiny_cased.predict("Chest pain.", output_level="sentence", **options)
