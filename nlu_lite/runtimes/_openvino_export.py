"""A Hugging Face encoder converted to OpenVINO IR (optionally int8-compressed), cached on disk.

The converted model takes ``input_ids`` and ``attention_mask`` (both int64, dynamic batch and width) and
returns every hidden state as its own output ``hidden_state_0`` (embeddings) ... ``hidden_state_<L>`` (last
layer): separate outputs cost nothing at run time (they are tensors the forward computes anyway) and let the
runtime hand back any layer. Weights stay float32 (``compress_to_fp16=False``); ``int8`` compresses the
weights with NNCF (8-bit asymmetric, per output channel), calibration-free.

A converted model is stored under ``<cache root>/openvino/<folder name>-<scheme>-<key>/`` where the key
hashes the model folder's files (name, size, modification time), the scheme, and the versions of
OpenVINO, NNCF, torch and transformers; a second load reads it instead of converting again. Folders are
written to a temporary name and renamed, so concurrent processes never read a half-written model.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

from ..errors import ModelLoadError
from ._export import all_hidden_states, converted_folder, load_torch_model, package_version, write_atomically
from ._openvino_privacy import import_nncf, import_openvino

FORMAT = 1  # bump when the layout or the conversion recipe changes
SCHEMES = ("fp32", "int8_asym")  # weight formats stored on disk (bf16 is a compile-time hint on the fp32 IR)
XML, BIN, META = "model.xml", "model.bin", "nlu_lite_openvino.json"
# exact messages silenced while tracing (the traced graph is checked against torch in the tests)
_TRACE_WARNINGS = (
    r"Converting a tensor to a Python boolean might cause the trace to be incorrect",
    r"`is_gradient_checkpointing` is deprecated",
    r"`torch\.jit\.trace(_method)?` is deprecated",  # OpenVINO's PyTorch frontend traces (its choice, not ours)
)


def cached_model(folder: Path, scheme: str, *, family: str | None = None) -> Path:
    """The ``model.xml`` of ``folder`` converted with ``scheme`` (see ``SCHEMES``), converting it on a miss."""
    target = cache_folder(folder, scheme)
    if not (target / META).is_file():
        _build(folder, scheme, family, target)
    return target / XML


def cache_folder(folder: Path, scheme: str) -> Path:
    """Where the converted ``folder`` lives for ``scheme`` (it may not exist yet)."""
    return converted_folder("openvino", folder, scheme, {"format": FORMAT, "versions": _versions(scheme)})


def _versions(scheme: str) -> dict[str, str]:
    names = ["openvino", "torch", "transformers"] + (["nncf"] if scheme == "int8_asym" else [])
    return {name: package_version(name) for name in names}


def openvino_version() -> str:
    """The installed OpenVINO's version, e.g. ``"2026.4.1"`` (``"absent"`` when it is not installed)."""
    return package_version("openvino")


def _build(folder: Path, scheme: str, family: str | None, target: Path) -> None:
    ov = import_openvino()
    model = _convert(ov, load_torch_model(folder, family))
    if scheme == "int8_asym":
        model = _compress_int8(model)

    def write(staging: Path) -> None:
        ov.save_model(model, str(staging / XML), compress_to_fp16=False)
        meta = {"format": FORMAT, "scheme": scheme, "source": str(folder), "versions": _versions(scheme)}
        (staging / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")

    write_atomically(target, write, META)


def _convert(ov, model):
    import torch

    # the example has a padded row: tracing an all-ones mask would let transformers drop the mask from the graph
    ids = torch.full((2, 8), 100, dtype=torch.int64)
    mask = torch.ones((2, 8), dtype=torch.int64)
    mask[1, 5:] = 0
    shape = ov.PartialShape([-1, -1])
    try:
        with warnings.catch_warnings(), torch.no_grad():
            for message in _TRACE_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            converted = ov.convert_model(all_hidden_states(model),
                                         example_input={"input_ids": ids, "attention_mask": mask},
                                         input=[("input_ids", shape, ov.Type.i64),
                                                ("attention_mask", shape, ov.Type.i64)])
    except Exception as e:
        raise ModelLoadError("E301", f"OpenVINO could not convert {type(model).__name__}: {type(e).__name__}: "
                             f"{' '.join(str(e).split())[:300]}. Use runtime='torch' for this model.") from e
    for i, output in enumerate(converted.outputs):
        output.get_tensor().set_names({f"hidden_state_{i}"})
    return converted


def _compress_int8(model):
    nncf = import_nncf()
    logger = logging.getLogger("nncf")
    level = logger.level
    logger.setLevel(logging.WARNING)  # NNCF logs a bit-width table at INFO
    try:
        # NNCF draws a rich progress bar on stdout: a library does not print
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    finally:
        logger.setLevel(level)
