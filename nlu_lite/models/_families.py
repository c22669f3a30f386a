"""What each encoder family needs, in one table that the catalog, the model loader and every runtime read.

A *family* is a transformers ``model_type``. Facts a runtime would otherwise have to rediscover:

- ``FAMILY_POSITIONS``: the usable sequence length of the published checkpoints (catalog validation);
- ``OFFSET_POSITIONS``: families that number positions from ``pad_token_id + 1`` (RoBERTa-style), so two
  position rows of ``max_position_embeddings`` are never usable (514 -> 512 for roberta-base);
- ``input_multiple``: widths a family's attention takes (Longformer's sliding window: multiples of it).
"""

from __future__ import annotations

from collections.abc import Mapping

FAMILY_POSITIONS = {"bert": 512, "distilbert": 512, "roberta": 512, "xlm-roberta": 512, "deberta-v2": 512,
                    "electra": 512, "modernbert": 8192, "mpnet": 512, "longformer": 4096}
"""Usable sequence length ([CLS]/[SEP] included) of the published checkpoints of each family: RoBERTa-style
models have 514 position embeddings of which 2 are offset, so 512 are usable (Longformer: 4,098, so 4,096)."""

FAMILIES = tuple(FAMILY_POSITIONS)
"""Transformers ``model_type`` values a catalog entry may have; each needs a tiny fixture in the contract tests."""

OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "mpnet", "longformer",
                              "data2vec-text", "roberta-prelayernorm", "xmod"})
"""Families whose absolute position ids start after the padding id: ``pad_token_id + 1`` rows fewer usable."""


def usable_positions(model_type: str, positions: int, pad_id: int) -> int:
    """Of ``positions`` position embeddings, how many a sequence can use (special tokens included)."""
    return positions - (pad_id + 1 if model_type in OFFSET_POSITIONS else 0)


def input_multiple(config: object) -> int:
    """The multiple every input width must be for this model's attention (1: any width).

    Sliding-window attention (Longformer) takes widths that are multiples of its window; a runtime pads its
    batches to it (transformers would pad inside, logging a notice on every call) and cuts the output back.
    ``config``: a transformers config object or its ``config.json`` as a mapping.
    """
    window = config.get("attention_window") if isinstance(config, Mapping) else getattr(config, "attention_window",
                                                                                         None)
    return int(max(window) if isinstance(window, (list, tuple)) else window or 1)
