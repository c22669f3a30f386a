"""The command line's first hour (issue 23, item 14): --precision checked against this machine and the runtime
before the model loads, unknown names answered with CLI fixes and resembling names only, a summary line after
a written file, readable `info` and `cache info`, and a help that says what the code does."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nlu_lite import cache
from nlu_lite.cache import VectorCache
from nlu_lite.cli import _main as cli
from nlu_lite.cli._main import main
from nlu_lite.models._catalog import entries, find
from nlu_lite.pipeline import _resources as resources
from nlu_lite.runtimes import _cpu_features


class _Loaded(Exception):
    """What the stand-in for load() raises: the checks before it passed."""


@pytest.fixture
def loads(monkeypatch):
    """load() records its options and stops the run: an empty list proves an error came before any model."""
    import nlu_lite.pipeline._load

    calls = []

    def record(*args, **kwargs):
        calls.append(kwargs)
        raise _Loaded

    monkeypatch.setattr(nlu_lite.pipeline._load, "load", record)
    return calls


def _one_error_line(err: str, code: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"nlu-lite: error: [{code}] "), err
    return lines[0]


# ---- 1. --precision against this machine and the runtime, before the model loads ----------------------------

@pytest.mark.parametrize("precision,cuda,native_bf16,code", [
    ("fp16", False, True, "E133"),
    ("fp16", True, False, None),
    ("bf16", False, False, "E134"),
    ("bf16", True, False, None),
    ("bf16", False, True, None),
    ("bf16", False, None, None),  # flags unknown (no /proc/cpuinfo): left to the runtime
])
def test_cli_precision_this_machine_lacks_fails_before_the_model_loads(precision, cuda, native_bf16, code, loads,
                                                                       monkeypatch, capsys):
    monkeypatch.setattr(cli, "_has_cuda", lambda: cuda)
    monkeypatch.setattr(cli, "_has_mps", lambda: False)  # not an Apple Silicon machine
    monkeypatch.setattr(_cpu_features, "has_native_bf16", lambda flags=None: native_bf16)
    argv = ["predict", "Chest pain.", "--precision", precision]
    if code is None:
        with pytest.raises(_Loaded):
            main(argv)
        assert loads[0]["precision"] == precision
        return
    assert main(argv) == 1
    line = _one_error_line(capsys.readouterr().err, code)
    assert f"--precision {precision}" in line and "--precision fp32" in line and "precision=" not in line
    assert loads == []


def test_cli_precision_the_runtime_does_not_list_fails_before_the_model_loads(loads, monkeypatch, capsys):
    from nlu_lite import runtimes

    monkeypatch.setattr(cli, "_has_cuda", lambda: pytest.fail("the registry answers first"))
    assert "fp16" not in runtimes.get("openvino").precisions
    assert main(["predict", "Chest pain.", "--runtime", "openvino", "--precision", "fp16"]) == 1
    line = _one_error_line(capsys.readouterr().err, "E132")
    assert all(p in line for p in runtimes.get("openvino").precisions) and "--runtime torch" in line
    assert loads == []


def test_cli_precision_is_checked_against_the_runtime_a_bundle_restores(tiny_cased, tmp_path, loads, capsys):
    import json

    bundle = tmp_path / "bundle"
    tiny_cased.save(bundle)
    spec = json.loads((bundle / "nlu_lite.json").read_text("utf-8"))
    (bundle / "nlu_lite.json").write_text(json.dumps({**spec, "runtime": "openvino"}), "utf-8")
    assert main(["predict", "Chest pain.", "--model", str(bundle), "--precision", "fp16"]) == 1
    assert "runtime openvino" in _one_error_line(capsys.readouterr().err, "E132") and loads == []


def test_cli_precision_without_hardware_needs_imports_no_torch(loads, monkeypatch):
    monkeypatch.setattr(cli, "_has_cuda", lambda: pytest.fail("CUDA asked for a precision that needs none"))
    for precision in ("fp32", "int8", "fast"):
        with pytest.raises(_Loaded):
            main(["predict", "Chest pain.", "--precision", precision])
    assert [k["precision"] for k in loads] == ["fp32", "int8", "fast"]


# ---- 2. and 3. unknown names: CLI fixes, resembling names only ------------------------------------------------

@pytest.mark.parametrize("argv,fix", [
    (["predict", "Chest pain.", "--model", "clinicl_bert"], "--model FOLDER"),
    (["info", "clinicl_bert"], "nlu-lite catalog"),
    (["download", "clinicl_bert", "--to", "{tmp}/bundle"], "nlu-lite search WORD"),
])
def test_cli_unknown_model_error_names_cli_fixes(argv, fix, tmp_path, capsys):
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    line = _one_error_line(capsys.readouterr().err, "E042")
    assert "nlu-lite search WORD" in line and fix in line
    assert "nlu_lite." not in line and "load(" not in line  # no Python advice on the command line
    assert "en.embed.biobert.clinical_base_cased" in line


@pytest.mark.parametrize("name,suggested", [
    ("clinicl_bert", "en.embed.biobert.clinical_base_cased"),
    ("mini_lm", "en.embed_sentence.all_minilm_l6_v2"),
])
def test_cli_info_unknown_name_suggests_resembling_names(name, suggested, capsys):
    assert main(["info", name]) == 1
    line = _one_error_line(capsys.readouterr().err, "E042")
    assert suggested in line


@pytest.mark.parametrize("name", ["foo", "xyzzyq"])
def test_cli_info_unknown_name_resembling_nothing_says_so(name, capsys):
    assert main(["info", name]) == 1
    line = _one_error_line(capsys.readouterr().err, "E042")
    assert f"No catalog name resembles {name!r}" in line and "nlu-lite search WORD" in line
    assert not any(entry.name in line for entry in entries())  # no unrelated model (foo once got biolord_2023)


# ---- 4. one summary line after a written file ---------------------------------------------------------------

def test_cli_output_file_run_prints_one_summary_line(tiny_cased_dir, tmp_path, capsys):
    out, store = tmp_path / "out.jsonl", tmp_path / "v.sqlite"
    argv = ["predict", "Chest pain. No fever.", "--model", str(tiny_cased_dir), "--level", "sentence",
            "--output", str(out), "--no-progress"]
    summary = rf"nlu-lite: wrote 2 rows to {re.escape(str(out))} in \d+\.\d s"
    assert main(argv) == 0
    assert re.fullmatch(summary + "\n", capsys.readouterr().err)
    for cached in (r"0 hits, 2 misses", r"2 hits, 0 misses"):  # cold, then warm
        assert main([*argv, "--cache", str(store)]) == 0
        assert re.fullmatch(rf"{summary} \(cache: {cached}\)\n", capsys.readouterr().err)
    assert main(argv[:-3] + ["--no-progress"]) == 0  # stdout: the rows only, nothing on stderr
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.splitlines()) == 2


@pytest.mark.parametrize("rows,stats,expected", [
    (1234, None, "nlu-lite: wrote 1,234 rows to out.parquet in 3.2 s"),
    (1, {"hits": 10_000, "misses": 1}, "nlu-lite: wrote 1 row to out.parquet in 3.2 s (cache: 10,000 hits, 1 miss)"),
])
def test_cli_summary_line_numbers_are_readable(rows, stats, expected):
    from pathlib import Path

    assert cli._summary(rows, Path("out.parquet"), 3.21, stats) == expected


def test_cli_help_documents_the_summary_line(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "summary line on stderr" in " ".join(capsys.readouterr().out.split())


# ---- 5. readable info and cache info ------------------------------------------------------------------------

def test_cli_cache_info_prints_the_files_counts_readably(tmp_path, capsys):
    path = tmp_path / "v.sqlite"
    with VectorCache(path) as store:
        store.put_many({cache.key(str(i), "fp"): np.full(384, i, np.float32) for i in range(1500)})
    assert main(["cache", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^entries +1,500$", out, re.M), out
    assert re.search(r"^payload bytes +2\.2 MiB$", out, re.M), out  # 1,500 x 384 x 4 bytes
    assert re.search(r"^max bytes +4\.0 GiB$", out, re.M), out
    assert "hits" not in out and "stats" not in out and "None" not in out and "{" not in out
    assert main(["cache", "clear", str(path)]) == 0
    assert re.search(r"^removed entries +1,500$", capsys.readouterr().out, re.M)


def test_cli_info_prints_readable_values(capsys):
    long = next(e for e in entries() if e.max_wordpieces >= 1000)
    assert main(["info", long.name]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^max wordpieces +{long.max_wordpieces:,}$", out, re.M), out
    assert main(["info", "clinical_bert"]) == 0
    out = capsys.readouterr().out
    entry = find("clinical_bert")
    assert re.search(rf"^aliases +{re.escape(', '.join(entry.aliases))}$", out, re.M), out
    assert re.search(r"^do lower case +no$", out, re.M) and re.search(r"^tags +clinical, biomedical, token$", out, re.M)
    assert re.search(r"^packaged module +none$", out, re.M)
    for python in ("('", "None", "True", "False", "{}"):
        assert python not in out


# ---- 6. the help says what the code does --------------------------------------------------------------------

def test_cli_help_reads_the_bar_delay_and_the_token_example_writes_tokens(monkeypatch, capsys):
    monkeypatch.setattr(resources, "BAR_DELAY_S", 7.5)
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = capsys.readouterr().out
    assert "longer than 7.5 s" in " ".join(out.split())
    example = next(line for line in out.splitlines() if "tokens.jsonl" in line)
    assert "--level token" in example
