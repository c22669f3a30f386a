"""Reference implementations the tests compare against: the Hugging Face model itself, loaded on its own."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def st_modules():
    """sentence-transformers' module classes (Transformer, Pooling, Normalize) where this version keeps them
    (6.x moved them; importing the old ``sentence_transformers.models`` is deprecated there)."""
    try:
        from sentence_transformers.sentence_transformer import modules
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import models as modules
    return modules


@lru_cache(maxsize=16)
def hf_model(folder: str):
    """``transformers.AutoModel`` of ``folder`` in eval mode: our runtime's output must equal its hidden states."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(folder).eval()


def reference_model(pipe):
    """The independent Hugging Face model of a pipeline's files."""
    return hf_model(str(Path(pipe.source.folder)))
