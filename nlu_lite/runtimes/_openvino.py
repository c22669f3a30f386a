"""The OpenVINO runtime (CPU): ``load(..., runtime="openvino")``, with fp32, bf16, int8 and "fast" precisions.

Precisions, chosen by measured accuracy against torch fp32 (all-MiniLM-L6-v2, MTSamples sentences):

- ``fp32`` (default): float32 weights and an explicit f32 inference-precision hint (OpenVINO's own default on
  a CPU with native bf16 is bf16). Vectors equal torch's to about 1e-6.
- ``bf16``: the fp32 model run with a bf16 inference-precision hint; only on CPUs that compute bf16 natively
  (AVX-512 BF16 or AMX), elsewhere it would be emulated and slower, so it is refused.
- ``int8``: 8-bit asymmetric weights (NNCF, per output channel, no calibration). How they are multiplied
  depends on the CPU (``int8_compute``): with AMX, in bf16 on its tiles (int8 weights + bf16 compute); with
  VNNI, with dynamic 8-bit quantization of the activations in groups of 128 at run time (8-bit dot products);
  else (AVX2) decompressed to fp32 (smaller weights, fp32 products).
- ``fast``: the fastest of these that meets the accuracy bars (mean token cosine to fp32 >= 0.9999 for bf16,
  >= 0.998 for int8) on this kind of CPU, see ``fast_precision``.

Converted models are cached on disk (``openvino_export``); telemetry is off (``openvino_privacy``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from ..errors import InvalidOptionError, ModelLoadError
from . import _cpu_features as cpu_features
from . import get
from ._openvino_export import cache_folder, cached_model, openvino_version
from ._openvino_privacy import import_openvino

PRECISIONS = get("openvino").precisions  # the registry is the one list
DYNAMIC_QUANTIZATION_GROUP = 128
_SCHEME = {"fp32": "fp32", "bf16": "fp32", "int8": "int8_asym"}
def int8_compute(flags: frozenset[str] | None = None) -> str:
    """How int8 weights are multiplied on a CPU with these flags: ``"bf16"`` (AMX), ``"dynamic_int8"`` (8-bit dot
    products) or ``"fp32"`` (weights decompressed to fp32, no int8 products).

    Measured on a Sapphire Rapids with AMX (2 threads, MiniLM, MTSamples; ratio to torch fp32, mean token
    cosine to fp32): int8 weights + bf16 compute 1.76x short sentences / 2.38x long windows at 0.99960 /
    0.99948; int8 weights + dynamic int8 activations (group 128) 1.68x / 2.18x at 0.99884 / 0.99886; with
    AMX the bf16 path is both faster and more accurate. Without AMX (AMD Zen 4, issue 15) the dynamic path ran
    2.66x at 0.9989, so it stays the recipe there. Without VNNI (an AVX2-only CPU) there are no 8-bit dot products
    to run dynamic int8 activations on; with the ISA limited to AVX2 (``ONEDNN_MAX_CPU_ISA``) OpenVINO 2026.4
    returned empty outputs for them, so the weights are decompressed to fp32 (docs/cpu_recipes.md).
    """
    return {"amx": "bf16", "bf16": "dynamic_int8", "vnni": "dynamic_int8"}.get(cpu_features.cpu_class(flags), "fp32")


def fast_precision(flags: frozenset[str] | None = None) -> str:
    """The fastest precision meeting the accuracy bars on a CPU with these feature flags (see ``fast_choice``)."""
    return fast_choice(flags)[0]


def fast_choice(flags: frozenset[str] | None = None) -> tuple[str, str]:
    """``fast_precision`` and why, in words (``pipe.encoder.runtime.chosen``), by ``cpu_features.cpu_class``.

    Measured (2 threads, batches of 32, ratio to torch fp32): with AMX (Intel Sapphire Rapids) bf16 ran 2.3x and
    int8 1.7x, so bf16; with AVX-512 BF16 but no AMX (AMD Zen 4, issue 15) int8 ran 2.7x and bf16 2.1x, so int8;
    VNNI without bf16 is unmeasured, int8 there (8-bit dot products). AVX2 only (an AMD EPYC limited to AVX2,
    ``benchmarks/cpu_recipes.py``): no int8 recipe reached 1.5x fp32 at token cosine 0.998, so fp32.
    """
    kind = cpu_features.cpu_class(flags)
    if kind == "amx":
        return "bf16", "fast: bf16, this CPU has AMX"
    if kind in ("bf16", "vnni"):
        return "int8", "fast: int8, this CPU has 8-bit dot products (VNNI) and no AMX"
    if kind == "avx2":
        return "fp32", ("fast: fp32, this CPU has AVX2 but neither AMX nor VNNI: no int8 or bf16 recipe was "
                        "measured 1.5x faster at token cosine 0.998 there")
    return "fp32", f"fast: fp32, this CPU has neither AMX nor VNNI ({cpu_features.CLASSES[kind]})"


def _fast_advice() -> str:
    """What to ask for instead of a precision this CPU cannot run fast: what ``fast`` runs here."""
    precision, _ = fast_choice()
    if precision == "fp32":
        return "Use precision='fp32': on this CPU neither int8 nor bf16 is faster (precision='fast' runs fp32 here)."
    return f"Use precision='{precision}' (what precision='fast' runs on this CPU) for speed, or precision='fp32'."


class OpenVinoRuntime:
    """A model compiled by OpenVINO for the CPU; ``forward`` follows the ``Runtime`` protocol."""

    name = "openvino"
    device = "cpu"
    chosen = ""  # why precision="fast" became this precision ("" when a precision was asked for)

    def __init__(self, folder: Path, *, family: str | None, precision: str, threads: int | None) -> None:
        started = time.perf_counter()
        self.folder = Path(folder)
        self.precision = precision
        self.threads = threads
        scheme = _SCHEME[precision]
        self.cache_folder = cache_folder(self.folder, scheme)
        xml = cached_model(self.folder, scheme, family=family)
        recipe = _recipe(precision)
        self.compute = f"openvino {openvino_version()} {recipe}"
        self._compiled = _compile(xml, recipe, threads)
        outputs = self._compiled.outputs
        self.num_layers = len(outputs) - 1
        self.dim = int(outputs[-1].get_partial_shape()[2].get_length())
        self._outputs = outputs
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()
        self.load_seconds = time.perf_counter() - started

    def forward(self, ids: np.ndarray, mask: np.ndarray, layers: tuple[int, ...] = (-1,)) -> np.ndarray:
        """Hidden states of a padded batch: ``(len(layers), batch, width, dim)`` float32 (see ``Runtime``)."""
        chosen = [self._output(layer) for layer in layers]
        inputs = {"input_ids": np.ascontiguousarray(ids, dtype=np.int64),
                  "attention_mask": np.ascontiguousarray(mask, dtype=np.int64)}
        with self._lock:  # one infer request: its output buffers are reused by the next call
            self._request.infer(inputs)
            return np.stack([self._request.get_tensor(output).data for output in chosen]).astype(np.float32,
                                                                                                  copy=False)

    def _output(self, layer: int):
        if not isinstance(layer, (int, np.integer)) or not -self.num_layers - 1 <= layer <= self.num_layers:
            raise InvalidOptionError("E302", f"layers contains {layer!r}, but this model has hidden states 0 "
                                     f"(embeddings) to {self.num_layers} (last layer); use e.g. layers=(-1,) "
                                     f"or layers=(-4, -3, -2, -1).")
        return self._outputs[int(layer)]


def open_runtime(folder: Path, *, family: str | None = None, device: str = "auto", precision: str | None = None,
                 threads: int | None = None) -> OpenVinoRuntime:
    """Load ``folder`` (a Hugging Face model) into OpenVINO on the CPU, converting and caching it once."""
    if device not in ("auto", "cpu"):
        raise InvalidOptionError("E303", f"device={device!r}: runtime='openvino' runs on the CPU; use "
                                 "device='cpu', or runtime='torch' for CUDA.")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise InvalidOptionError("E304", f"threads={threads!r} must be a positive integer or None "
                                 "(OpenVINO's default: every core), e.g. threads=2.")
    chosen = fast_choice() if precision == "fast" else (_effective_precision(precision), "")
    runtime = OpenVinoRuntime(folder, family=family, precision=chosen[0], threads=threads)
    runtime.chosen = chosen[1]
    return runtime


def _effective_precision(precision: str | None) -> str:
    precision = "fp32" if precision is None else precision
    if precision not in PRECISIONS:
        raise InvalidOptionError("E305", f"precision={precision!r} is not one of {list(PRECISIONS)} for "
                                 "runtime='openvino'; e.g. precision='fp32', or 'fast' for the fastest "
                                 f"accurate one on this CPU ({fast_precision()} here).")
    if precision == "bf16" and cpu_features.has_native_bf16() is False:
        raise InvalidOptionError("E306", "precision='bf16' needs a CPU with native bf16 (AVX-512 BF16 or AMX); "
                                 "this one has neither, so it would be emulated and slower than fp32. "
                                 + _fast_advice())
    return precision


def _recipe(precision: str) -> str:
    """What runs on this CPU for ``precision``: ``fp32``, ``bf16``, ``int8+bf16``, ``int8+dynamic_int8`` or
    ``int8+fp32``."""
    return precision if precision != "int8" else f"int8+{int8_compute()}"


def _compile(xml: Path, recipe: str, threads: int | None):
    ov = import_openvino()
    dynamic = recipe == "int8+dynamic_int8"
    config = {"INFERENCE_PRECISION_HINT": "bf16" if recipe in ("bf16", "int8+bf16") else "f32",
              "PERFORMANCE_HINT": "LATENCY",
              "DYNAMIC_QUANTIZATION_GROUP_SIZE": DYNAMIC_QUANTIZATION_GROUP if dynamic else 0,
              "CACHE_DIR": str(xml.parent.parent / "compiled")}
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = threads
    try:
        return ov.Core().compile_model(str(xml), "CPU", config)
    except Exception as e:  # a truncated or foreign file in the cache folder
        raise ModelLoadError("E307", f"OpenVINO could not compile the cached model {xml}: {type(e).__name__}: "
                             f"{' '.join(str(e).split())[:300]}. Delete the folder so it is converted again: "
                             f"import shutil; shutil.rmtree({str(xml.parent)!r})") from e
