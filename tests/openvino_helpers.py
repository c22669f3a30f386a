"""Helpers for the OpenVINO runtime tests: torch reference hidden states, padded batches, cosines."""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pytest

requires_openvino = pytest.mark.skipif(find_spec("openvino") is None or find_spec("nncf") is None,
                                       reason="OpenVINO not installed: pip install 'nlu-lite[openvino]'")


def padded(sequences: list[list[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, mask)`` int64 arrays of ``sequences`` padded to the longest one."""
    width = max(len(s) for s in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = seq
        mask[row, :len(seq)] = 1
    return ids, mask


def torch_hidden_states(folder, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Hugging Face's fp32 hidden states ``(layers + 1, batch, width, dim)``: the reference."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
    with torch.inference_mode():
        out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                    output_hidden_states=True)
    return torch.stack(out.hidden_states).numpy()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two ``(n, dim)`` arrays."""
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def token_and_sentence_cosines(got: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosines per real position and per sequence (mean over its real positions, specials included)."""
    real = mask.astype(bool)
    weights = mask[..., None].astype(np.float64)
    pooled = [(x * weights).sum(1) / weights.sum(1) for x in (got, ref)]
    return cosines(got[real], ref[real]), cosines(*pooled)

