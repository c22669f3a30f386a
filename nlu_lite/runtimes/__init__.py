"""Encoder runtimes: what runs the transformer forward pass, chosen with ``load(..., runtime=NAME)``.

The registry is the one list of runtimes: each entry (``RuntimeInfo``) names the module that opens it, the
precisions it takes and the package extra that installs what it needs; ``load()``, the CLI's choices and help,
and the contract tests all read it, and importing it imports no runtime library. A runtime module has a
function ``open_runtime(folder, *, family, device, precision, threads) -> Runtime``; the pipeline and the
pooling talk to it only through the ``Runtime`` protocol below (numpy in, numpy out), so they never import torch.

Adding a runtime is one module and one registration: a line in ``_BUILTIN`` inside nlu_lite, or, from another
package, an entry point in the group ``nlu_lite.runtimes`` whose object is a ``RuntimeInfo`` (as spaCy's
registries take entry points)::

    [options.entry_points]
    nlu_lite.runtimes =
        onnx = my_package.nlu_runtime:RUNTIME

Shared plumbing for runtimes that convert a model (a cache folder per model and recipe, write-then-rename, a
wrapper returning every hidden state) is in ``_export.py``; family facts (position offsets, input-width
multiples) in ``nlu_lite.models._families``.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import InvalidOptionError

if TYPE_CHECKING:
    import numpy as np

_LOG = logging.getLogger("nlu_lite")
ENTRY_POINT_GROUP = "nlu_lite.runtimes"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class RuntimeInfo:
    """One registered runtime: how to open it and what it takes."""

    name: str  # what load(runtime=...) and the CLI's --runtime take: lowercase letters, digits, "_"
    module: str  # the importable module with open_runtime(folder, *, family, device, precision, threads)
    precisions: tuple[str, ...]  # the precision= values it takes, its default first
    extra: str | None = None  # the nlu-lite extra that installs its packages: pip install "nlu-lite[extra]"
    description: str = ""  # one line for the CLI's help and the docs

    def install_hint(self) -> str:
        """The pip line that installs this runtime's packages ("" when nlu_lite's core has them)."""
        return f'pip install "nlu-lite[{self.extra}]"' if self.extra else ""


class Runtime(Protocol):
    """A loaded model ready to run batches of token ids."""

    name: str  # registry name, e.g. "torch"
    device: str  # where it runs, e.g. "cpu", "cuda:0"
    precision: str  # effective precision, e.g. "fp32", "int8", "bf16"
    compute: str  # how that precision runs here, library version included (provenance and cache keys)
    threads: int | None  # CPU threads asked for (None: the runtime's default)
    dim: int  # hidden size of one output vector
    num_layers: int  # transformer layers; hidden state 0 is the embedding output, num_layers the last
    chosen: str  # optional: why precision="fast" became ``precision``, in words ("" when one was asked for)

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


_BUILTIN = (
    RuntimeInfo("torch", "nlu_lite.runtimes._torch", ("fp32", "int8", "fp16", "bf16", "fast"),
                description="eager PyTorch, CPU or CUDA (default)"),
    RuntimeInfo("openvino", "nlu_lite.runtimes._openvino", ("fp32", "bf16", "int8", "fast"), extra="openvino",
                description="OpenVINO on the CPU, the converted model cached on disk"),
)
_REGISTRY: dict[str, RuntimeInfo] = {}
_LOCK = threading.Lock()
_discovered = False


def register(info: RuntimeInfo) -> RuntimeInfo:
    """Add a runtime to the registry (replacing one of the same name); returns it."""
    if not isinstance(info, RuntimeInfo):
        raise InvalidOptionError("E065", f"register() takes a nlu_lite.runtimes.RuntimeInfo, got "
                                 f"{type(info).__name__}; e.g. RuntimeInfo('onnx', 'my_pkg.runtime', ('fp32',)).")
    if not isinstance(info.name, str) or not _NAME.match(info.name):
        raise InvalidOptionError("E066", f"runtime name {info.name!r} must be lowercase letters, digits and '_', "
                                 "starting with a letter, e.g. 'onnx'.")
    if not info.precisions or not all(isinstance(p, str) for p in info.precisions):
        raise InvalidOptionError("E067", f"runtime {info.name!r} must list its precisions, e.g. ('fp32',); got "
                                 f"{info.precisions!r}.")
    with _LOCK:
        _REGISTRY[info.name] = info
    return info


for _info in _BUILTIN:
    register(_info)


def _discover() -> None:
    """Register the runtimes other installed packages declare as ``nlu_lite.runtimes`` entry points (once)."""
    global _discovered
    with _LOCK:
        if _discovered:
            return
        _discovered = True
    broken = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register(point.load())
        except Exception as e:  # a broken plugin must not break nlu_lite: it is left out, with the reason
            broken.append(f"{point.name!r} ({point.value}): {type(e).__name__}: {e}")
    if broken:
        warnings.warn(f"Runtime entry points left out: {'; '.join(broken)}. Reinstall or uninstall the packages "
                      "that declare them.", RuntimeWarning, stacklevel=3)


def names() -> tuple[str, ...]:
    """The registered runtime names: nlu_lite's own first, then those of other packages."""
    _discover()
    return tuple(_REGISTRY)


def get(name: object) -> RuntimeInfo:
    """The runtime called ``name``; ``InvalidOptionError`` listing the valid names otherwise."""
    info = _REGISTRY.get(name) if isinstance(name, str) else None
    if info is None:
        _discover()
        info = _REGISTRY.get(name) if isinstance(name, str) else None
    if info is None:
        raise InvalidOptionError("E063", f"runtime={name!r} is not one of {list(names())}; "
                                 "e.g. nlu_lite.load(name, runtime='torch').")
    return info


def precisions() -> tuple[str, ...]:
    """Every precision some registered runtime takes, in registry order."""
    return tuple(dict.fromkeys(p for name in names() for p in _REGISTRY[name].precisions))


def open_runtime(name: str, folder: Path, *, family: str | None = None, device: str = "auto",
                 precision: str | None = None, threads: int | None = None) -> Runtime:
    """Load the model in ``folder`` with the runtime ``name`` (see ``names()``); for ``precision="fast"``, one INFO
    line on the ``nlu_lite`` logger says what it chose and why."""
    runtime = import_module(get(name).module).open_runtime(
        Path(folder), family=family, device=device, precision=precision, threads=threads)
    if precision == "fast":
        _LOG.info("precision='fast' with runtime=%r on %s runs %s (%s): %s", name, runtime.device,
                  runtime.precision, runtime.compute, getattr(runtime, "chosen", "") or "the runtime gave no reason")
    return runtime
