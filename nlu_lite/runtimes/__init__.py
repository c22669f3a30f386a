"""Encoder runtimes: what runs the transformer forward pass, chosen with ``load(..., runtime=NAME)``.

A runtime is one module of this package with a function ``open_runtime(folder, *, family, device, precision,
threads) -> Runtime``; registering it is one line in ``_MODULES``. The pipeline and the pooling talk to a
runtime only through the ``Runtime`` protocol below: numpy in, numpy out, so they never import torch.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import InvalidOptionError

# runtime name -> module in this package (imported only when that runtime is asked for)
_MODULES = {"torch": "_torch", "openvino": "_openvino"}
RUNTIMES = tuple(_MODULES)


class Runtime(Protocol):
    """A loaded model ready to run batches of token ids."""

    name: str  # registry name, e.g. "torch"
    device: str  # where it runs, e.g. "cpu", "cuda:0"
    precision: str  # effective precision, e.g. "fp32", "int8", "bf16"
    compute: str  # how that precision runs here, library version included (provenance and cache keys)
    threads: int | None  # CPU threads asked for (None: the runtime's default)
    dim: int  # hidden size of one output vector
    num_layers: int  # transformer layers; hidden state 0 is the embedding output, num_layers the last

    def forward(self, ids: np.ndarray, mask: np.ndarray, layers: tuple[int, ...] = (-1,)) -> np.ndarray:
        """Hidden states of a padded batch.

        Args:
            ids: ``(batch, width)`` int64 token ids, padded with the tokenizer's pad id.
            mask: ``(batch, width)`` int64 attention mask (1 = real token).
            layers: indices into the ``num_layers + 1`` hidden states (0 = embeddings, -1 = last layer).

        Returns:
            ``(len(layers), batch, width, dim)`` float32 on the CPU, padding positions included.
        """
        ...


def open_runtime(name: str, folder: Path, *, family: str | None = None, device: str = "auto",
                 precision: str | None = None, threads: int | None = None) -> Runtime:
    """Load the model in ``folder`` with the runtime ``name`` (see ``RUNTIMES``)."""
    module = _MODULES.get(name) if isinstance(name, str) else None
    if module is None:
        raise InvalidOptionError("E063", f"runtime={name!r} is not one of {list(RUNTIMES)}; "
                                 "e.g. nlu_lite.load(name, runtime='torch').")
    return import_module(f".{module}", __name__).open_runtime(
        Path(folder), family=family, device=device, precision=precision, threads=threads)
