"""A CUDA GPU: end-to-end vs bare-forward throughput for fp32, fp16 and bf16 at every level, accuracy against CPU fp32.

    python benchmarks/gpu.py                              # packaged all-MiniLM-L6-v2, 300 MTSamples notes
    python benchmarks/gpu.py --notes 1000 --rounds 5 --json gpu.json
    python benchmarks/gpu.py --model en.embed.bert_base   # any catalog name or model folder
    python benchmarks/gpu.py --device cpu --notes 20 --rounds 1   # a dry run of every step on the CPU (no timings
                                                                  # worth reading; fp32, and bf16 where native)

Exit status: 0 measured (or the shared MTSamples data is absent: one line says so and nothing is measured);
3 no CUDA device: torch sees none (a CPU-only torch, no driver, or ``CUDA_VISIBLE_DEVICES`` empty), one line on
stderr says which, nothing is measured; 2 bad arguments.

For each precision (fp32, fp16, and bf16 where the GPU computes it) and each level (document, sentence, token; the
span level takes spans rather than notes and is left out), three throughputs in wordpieces/s:

- **end to end**: ``pipe.predict(notes, output_level=level)``: segmentation, tokenization, batching, the forward,
  the copy back and pooling, as users run it; wordpieces are ``pipe.last_stats["wordpieces"]``;
- **forward**: ``runtime.forward(ids, mask)`` over the same kind of model inputs prepared beforehand (padded numpy
  batches: windows of the notes for document and token level, their sentences for sentence level): the host to
  device copy, the model, the copy of the hidden states back;
- **bare**: the model alone on batches already on the GPU, nothing copied back.

The forward inputs are the script's own (regex sentences, batches of ``--batch`` sorted by length), not the
pipeline's token-budget batches, so end to end can exceed bare where the pipeline pads less (seen on a CPU dry run
at sentence level). End to end over bare is how much of the GPU the CPU side keeps busy (issue 22: the CPU side,
not the GPU, is the limit at sentence and token level). Every timing is bracketed by ``torch.cuda.synchronize()``
(CUDA runs asynchronously: without it a timer measures the launch, not the work), after one warm-up pass of each
configuration (cuDNN/cuBLAS autotuning, the caching allocator). Rounds interleave the precisions; medians.

Accuracy: the forward of each GPU precision against the CPU fp32 forward on the same batches (mean and minimum
cosine of every real wordpiece's last hidden state), and the document vectors of ``predict`` against CPU fp32.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import mtsamples
import numpy as np
from throughput import _cosines, _padded

NO_CUDA = 3
LEVELS = ("document", "sentence", "token")
WINDOW = 256


def _cuda_or_reason() -> str | None:
    """None where torch sees a CUDA device, else why not, in one line."""
    try:
        import torch
    except ImportError:
        return "no CUDA device: torch is not installed (pip install torch)"
    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return f"no CUDA device: torch {torch.__version__} is a CPU-only build (install a CUDA build of torch)"
    return (f"no CUDA device: torch {torch.__version__} (CUDA {torch.version.cuda}) sees none; check the driver "
            "(nvidia-smi) and CUDA_VISIBLE_DEVICES")


def model_inputs(tokenizer, notes: list[str], level: str, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Padded batches like the pipeline's: 256-wordpiece windows of the notes, or their sentences, by length."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    texts = notes if level != "sentence" else [s for n in notes for s in re.split(r"(?<=[.?!])\s+", n.strip()) if s]
    sequences = []
    for text in texts:
        pieces = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        step = WINDOW - 2 if level != "sentence" else max(len(pieces), 1)
        sequences += [[cls] + pieces[i:i + step] + [sep] for i in range(0, max(len(pieces), 1), step)]
    sequences.sort(key=len)
    return [_padded(sequences[i:i + batch]) for i in range(0, len(sequences), batch)]


def _forward(pipe, batches) -> None:
    """The runtime's forward on host batches: copy in, model, hidden states copied back."""
    for ids, mask in batches:
        pipe.encoder.runtime.forward(ids, mask)


def _bare(pipe, on_device) -> None:
    """The model alone on batches already on the device; nothing comes back."""
    import torch

    runtime = pipe.encoder.runtime  # bf16 on a CPU (the dry run) keeps fp32 layer norms under autocast
    cast = torch.autocast("cpu", dtype=torch.bfloat16) if getattr(runtime, "_autocast", False) else nullcontext()
    with torch.inference_mode(), cast:
        for ids, mask in on_device:
            runtime.model(input_ids=ids, attention_mask=mask)


def _timed(call, sync) -> float:
    sync()
    started = time.perf_counter()
    call()
    sync()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="catalog name or model folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64, help="sequences per batch of the forward timings")
    parser.add_argument("--device", default="cuda", help="e.g. cuda:1")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    reason = None if args.device == "cpu" else _cuda_or_reason()
    if reason:
        print(reason, file=sys.stderr)
        return NO_CUDA
    notes = mtsamples.column("transcription", args.notes)
    if notes is None:
        return 0
    import torch

    import nlu_lite
    from nlu_lite.runtimes._torch import cpu_has_bf16

    device = torch.device(args.device)
    if device.type == "cuda":
        precisions = ["fp32", "fp16"] + (["bf16"] if torch.cuda.is_bf16_supported() else [])
        name, sync = torch.cuda.get_device_name(device), torch.cuda.synchronize
    else:
        precisions = ["fp32"] + (["bf16"] if cpu_has_bf16() else [])
        name, sync = "CPU (dry run)", lambda: None
    cpu = nlu_lite.load(args.model, device="cpu", precision="fp32", progress=False)
    pipes = {p: nlu_lite.load(args.model, device=args.device, precision=p, progress=False) for p in precisions}
    tokenizer = cpu.encoder.tokenizer
    results = {"gpu": name, "torch": torch.__version__, "cuda": torch.version.cuda,
               "model": args.model, "notes": len(notes), "rounds": args.rounds, "batch": args.batch,
               "precisions": precisions, "levels": {}, "accuracy": {}}

    for level in LEVELS:
        batches = model_inputs(tokenizer, notes, level, args.batch)
        pieces = int(sum(mask.sum() for _, mask in batches))
        on_device = [(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)) for ids, mask in batches]

        seconds = {p: {"end_to_end": [], "forward": [], "bare": []} for p in precisions}
        counted = {}
        for pipe in pipes.values():  # warm-up
            pipe.predict(notes[:8], output_level=level)
            _bare(pipe, on_device)
        for _ in range(args.rounds):
            for p, pipe in pipes.items():
                seconds[p]["end_to_end"].append(_timed(partial(pipe.predict, notes, output_level=level), sync))
                counted[p] = int(pipe.last_stats["wordpieces"])
                seconds[p]["forward"].append(_timed(partial(_forward, pipe, batches), sync))
                seconds[p]["bare"].append(_timed(partial(_bare, pipe, on_device), sync))
        rows = {}
        for p in precisions:
            speed = {kind: statistics.median((counted[p] if kind == "end_to_end" else pieces) / s for s in runs)
                     for kind, runs in seconds[p].items()}
            rows[p] = {**{f"{kind}_wordpieces_per_s": v for kind, v in speed.items()},
                       "end_to_end_over_bare": speed["end_to_end"] / speed["bare"]}
        results["levels"][level] = {"forward_wordpieces": pieces, "rows": rows}

    sample = model_inputs(tokenizer, notes[:40], "document", 16)
    reference = [cpu.encoder.runtime.forward(ids, mask)[0] for ids, mask in sample]
    cpu_docs = nlu_lite.to_numpy(cpu.predict(notes[:40], output_level="document"))
    for p, pipe in pipes.items():
        tokens = np.concatenate([_cosines(pipe.encoder.runtime.forward(ids, mask)[0][mask.astype(bool)],
                                          ref[mask.astype(bool)]) for (ids, mask), ref in zip(sample, reference)])
        docs = _cosines(nlu_lite.to_numpy(pipe.predict(notes[:40], output_level="document")), cpu_docs)
        results["accuracy"][p] = {"token_mean": float(tokens.mean()), "token_min": float(tokens.min()),
                                  "document_mean": float(docs.mean()), "document_min": float(docs.min())}
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


def _print(results: dict) -> None:
    print(f"{results['gpu']}, torch {results['torch']} (CUDA {results['cuda']}), model {results['model']}, "
          f"{results['notes']} notes, rounds {results['rounds']}, forward batches of {results['batch']}")
    for level, w in results["levels"].items():
        print(f"\n{level} level ({w['forward_wordpieces']:,} wordpieces in the forward timings)")
        print("| precision | end to end wp/s | forward wp/s | bare forward wp/s | end to end / bare |")
        print("|---|---:|---:|---:|---:|")
        for p, r in w["rows"].items():
            print(f"| {p} | {r['end_to_end_wordpieces_per_s']:,.0f} | {r['forward_wordpieces_per_s']:,.0f} | "
                  f"{r['bare_wordpieces_per_s']:,.0f} | {r['end_to_end_over_bare']:.2f} |")
    print("\n| precision | token cosine to CPU fp32, mean / min | document cosine, mean / min |\n|---|---|---|")
    for p, a in results["accuracy"].items():
        print(f"| {p} | {a['token_mean']:.5f} / {a['token_min']:.4f} | {a['document_mean']:.5f} / "
              f"{a['document_min']:.4f} |")


if __name__ == "__main__":
    sys.exit(main())
