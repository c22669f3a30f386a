"""Hidden layers: one, several averaged, several concatenated, at every level, equal to the model's hidden_states."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import reference_model

from nlu_lite.errors import InvalidOptionError

TEXT = "Patient denies chest pain"  # single wordpieces in the tiny cased vocabulary


def hidden_states(pipe, text):
    enc = pipe.encoder.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = reference_model(pipe)(**enc, output_hidden_states=True)
    return [h[0].numpy() for h in out.hidden_states]  # embeddings, layer 1, layer 2


@pytest.mark.parametrize("layers,combine", [(0, "mean"), (1, "mean"), ([-1, -2], "mean"), ([0, 2], "concat"),
                                            ([-3, -2, -1], "concat")])
def test_layers_token_sentence_document_equal_hidden_states(tiny_cased, layers, combine):
    states = hidden_states(tiny_cased, TEXT)
    picked = [states[k] for k in ([layers] if isinstance(layers, int) else layers)]
    expected = np.mean(picked, axis=0) if combine == "mean" else np.concatenate(picked, axis=1)
    col = tiny_cased.column_name
    token = np.stack(tiny_cased.predict(TEXT, output_level="token", layers=layers, layer_combine=combine)[col])
    np.testing.assert_allclose(token, expected[1:-1], atol=1e-5)
    for level in ("sentence", "document"):
        vec = tiny_cased.predict(TEXT, output_level=level, layers=layers, layer_combine=combine)[col].iloc[0]
        np.testing.assert_allclose(vec, expected.mean(0), atol=1e-5)


def test_layers_default_is_last_layer(tiny_cased):
    states = hidden_states(tiny_cased, TEXT)
    got = np.stack(tiny_cased.predict(TEXT, output_level="token")[tiny_cased.column_name])
    np.testing.assert_allclose(got, states[-1][1:-1], atol=1e-5)


@pytest.mark.parametrize("layers", [3, -4, [1, 1], [], "last"])
def test_layers_out_of_range_or_malformed_is_an_error(tiny_cased, layers):
    with pytest.raises(InvalidOptionError, match="layers="):
        tiny_cased.predict(TEXT, layers=layers)
