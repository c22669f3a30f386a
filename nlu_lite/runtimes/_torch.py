"""The eager PyTorch runtime: the default, whose vectors equal the reference implementations.

Precisions: ``fp32`` (default); ``fast``: the fastest precision that keeps the mean token cosine to fp32 at
0.9999 or more (``fast_precision``); ``int8`` on the CPU (dynamic quantization of the attention projections);
``fp16`` on CUDA; ``bf16`` on CUDA, or on a CPU with native bf16 (avx512_bf16 or AMX): there the Linear
weights are stored in bf16 once and the forward runs under autocast, so layer norms, softmax and the residual
stream stay float32. Measured on a Sapphire Rapids with AMX (all-MiniLM-L6-v2, MTSamples, 2 threads, ratio to
fp32 / mean token cosine to fp32): 1.72x on short sentences and 2.87x on 256-wordpiece windows at 0.99998;
plain autocast (weights cast again on every call) 1.47x / 2.81x at the same accuracy; the whole model in bf16
1.76x / 3.06x but 0.99993, with layer norms in bf16.
"""

from __future__ import annotations

import os
import threading
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from ..errors import InvalidOptionError
from ..models._families import input_multiple
from ..models._hf_model import load_model
from . import _cpu_features as cpu_features
from . import get

PRECISIONS = get("torch").precisions  # the registry is the one list


def _one_thread_after_fork() -> None:
    """In a forked child (``os.fork``, a multiprocessing "fork" pool): torch's OpenMP threads are not copied,
    and a forward that waits on them hangs forever. The child runs on one thread instead (``set_num_threads``
    in the child to change it)."""
    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_thread_after_fork)
DEVICES = ("auto", "cpu", "cuda", "mps")
_COMPUTE = {"fp32": "fp32", "int8": "dynamic int8 attention projections", "fp16": "fp16", "bf16": "bf16"}


def _bf16_linear_weights(model: torch.nn.Module) -> torch.nn.Module:
    """The Linear layers' weights and biases in bf16, once (autocast would cast them again on every call)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)
    return model


def mps_available() -> bool:
    """Whether torch can run on Apple Silicon's GPU (Metal Performance Shaders)."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when available, else Apple Silicon's GPU (``mps``), else the CPU."""
    if not isinstance(device, str) or (device not in DEVICES and not device.startswith("cuda:")):
        raise InvalidOptionError("E009", f"device={device!r} is not one of {list(DEVICES)} (or 'cuda:N').")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidOptionError(
            "E010", f"device={device!r} was asked for but torch sees no CUDA device; use device='cpu'.")
    if device == "mps" and not mps_available():
        raise InvalidOptionError("E019", "device='mps' was asked for but torch sees no Apple "
                                 "Silicon GPU (macOS on an M-series Mac, torch built with MPS); use device='cpu'.")
    return torch.device(device)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (avx512_bf16 or AMX); elsewhere bf16 is emulated and slow.

    The feature flags decide (``ONEDNN_MAX_CPU_ISA`` included); where the platform gives none, torch's CPUID."""
    native = cpu_features.has_native_bf16()
    if native is not None:
        return native
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def fast_precision(device: torch.device) -> str:
    """What ``precision="fast"`` runs: fp16 on CUDA, bf16 on a CPU with native bf16, else fp32.

    torch's int8 (attention projections only) is left out: its mean token cosine to fp32 is 0.996, below the
    0.998 bar for an int8 ``fast`` choice; for int8 speed use ``runtime="openvino"``. CUDA fp16 is unmeasured
    here (no GPU was lent to this project's machines).
    """
    return fast_choice(device)[0]


def fast_choice(device: torch.device) -> tuple[str, str]:
    """``fast_precision`` and why, in words (``pipe.encoder.runtime.chosen``)."""
    if device.type in ("cuda", "mps"):
        return "fp16", f"fast: fp16 on {device.type.upper()} (unmeasured here: no GPU was lent)"
    if cpu_has_bf16():
        return "bf16", "fast: bf16, this CPU computes bf16 natively"
    why = "fast: fp32, this CPU has no native bf16 and torch's int8 is below the accuracy bar"
    if cpu_features.cpu_class() == "vnni":
        return "fp32", why + "; runtime='openvino' has a faster int8 here"
    return "fp32", why


def _check_precision(precision: str, device: torch.device) -> None:
    fast = fast_precision(device)
    if precision not in PRECISIONS:
        raise InvalidOptionError("E011", f"precision={precision!r} is not one of {list(PRECISIONS)} for "
                                 "runtime='torch'.")
    if precision == "int8" and device.type != "cpu":
        raise InvalidOptionError("E012", "precision='int8' (dynamic quantization) runs on the CPU only; "
                                 "use precision='fp16' (or 'bf16' on CUDA) on a GPU, or device='cpu'.")
    if precision == "bf16" and device.type == "mps":
        raise InvalidOptionError("E027", "precision='bf16' is not offered on Apple Silicon "
                                 "(device='mps'); use precision='fp16' or 'fp32'.")
    if precision == "fp16" and device.type == "cpu":
        raise InvalidOptionError("E013", f"precision='fp16' is for CUDA; on this CPU use precision='{fast}' (what "
                                 "precision='fast' runs here)" + (", or 'fp32'." if fast != "fp32" else "."))
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        raise InvalidOptionError("E407", "precision='bf16' on this CPU would be emulated (no avx512_bf16 or AMX) "
                                 "and slower than fp32; use precision='fp32' (what precision='fast' runs here).")


def _quantize_attention(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 (per-channel weights) for the attention projections; the feed-forward layers stay fp32.

    Quantizing every Linear layer ran all-MiniLM-L6-v2 2.2x faster but moved token vectors to a mean
    cosine of 0.92 against fp32 (0.96 per-channel); the feed-forward layers carry the outliers. With them
    in fp32 the mean cosine is 0.996 (the documented bar is 0.99). See benchmarks/levels.py and
    benchmarks/throughput.py.
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    names = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and (".attention." in f".{name}." or ".attn." in f".{name}.")}
    with warnings.catch_warnings():
        # torch.ao.quantization and its quantized tensor constructors are deprecated in favour of torchao, which
        # has no dynamic CPU int8 for Linear layers yet; these two messages, and nothing else, are silenced
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization.*")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other "
                                "quantized tensor creation functions")
        return quantize_dynamic(model, names, dtype=torch.qint8)


class TorchRuntime:
    """A transformers model run eagerly by torch (see ``nlu_lite.runtimes.Runtime``)."""

    name = "torch"
    chosen = ""  # why precision="fast" became this precision ("" when a precision was asked for)

    def __init__(self, model: torch.nn.Module, device: torch.device, precision: str, threads: int | None) -> None:
        self.device = str(device)
        self.precision = precision
        self.threads = threads
        self.dim = int(model.config.hidden_size if hasattr(model.config, "hidden_size") else model.config.dim)
        self.num_layers = int(getattr(model.config, "num_hidden_layers", getattr(model.config, "n_layers", 0)))
        self._autocast = precision == "bf16" and device.type == "cpu"
        self.compute = f"torch {torch.__version__} eager {_COMPUTE[precision]}" + (
            " (bf16 Linear weights, autocast)" if self._autocast else "")
        if precision == "int8":
            model = _quantize_attention(model)
        elif precision == "fp16":
            model = model.half()
        elif self._autocast:
            model = _bf16_linear_weights(model)
        elif precision == "bf16":
            model = model.to(torch.bfloat16)
        self.model = model.to(device)
        self._device = device
        self._lock = threading.Lock()
        # sliding-window attention (Longformer) takes widths that are multiples of its window: padded here, as
        # transformers would do inside (logging a notice on every call), and cut off the output again
        self._multiple = input_multiple(model.config)
        self._pad_id = int(getattr(model.config, "pad_token_id", 0) or 0)

    def forward(self, ids: np.ndarray, mask: np.ndarray, layers: tuple[int, ...] = (-1,)) -> np.ndarray:
        """Hidden states ``(len(layers), batch, width, dim)`` float32 of one padded batch."""
        all_layers = layers != (-1,)
        width = ids.shape[1]
        extra = -width % self._multiple
        if extra:
            ids = np.pad(ids, ((0, 0), (0, extra)), constant_values=self._pad_id)
            mask = np.pad(mask, ((0, 0), (0, extra)))
        cast = torch.autocast("cpu", dtype=torch.bfloat16) if self._autocast else nullcontext()
        with self._lock, torch.inference_mode(), cast:
            out = self.model(input_ids=torch.from_numpy(ids).to(self._device),
                             attention_mask=torch.from_numpy(mask).to(self._device),
                             output_hidden_states=all_layers)
            states = [out.hidden_states[k] for k in layers] if all_layers else [out.last_hidden_state]
            stacked = torch.stack(states) if len(states) > 1 else states[0].unsqueeze(0)
            return stacked[:, :, :width].float().cpu().numpy()


def open_runtime(folder: Path, *, family: str | None = None, device: str = "auto", precision: str | None = None,
                 threads: int | None = None) -> TorchRuntime:
    """Load ``folder`` for eager torch (see the module docstring for precisions)."""
    where = resolve_device(device)
    precision = precision or "fp32"
    chosen = ""
    if precision == "fast":
        precision, chosen = fast_choice(where)
    _check_precision(precision, where)
    if threads is not None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise InvalidOptionError("E020", f"threads={threads!r} must be a positive integer.")
        torch.set_num_threads(threads)
    runtime = TorchRuntime(load_model(folder, family), where, precision, threads)
    runtime.chosen = chosen
    return runtime
