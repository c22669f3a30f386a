"""Reference implementations the tests compare against: the Hugging Face model itself, loaded on its own."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=16)
def hf_model(folder: str):
    """``transformers.AutoModel`` of ``folder`` in eval mode: our runtime's output must equal its hidden states."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(folder).eval()


def reference_model(pipe):
    """The independent Hugging Face model of a pipeline's files."""
    return hf_model(str(Path(pipe.source.folder)))
