"""Every Python and shell block of README.md runs as written, offline, in a fresh process.

A block preceded by ``<!-- not-run: REASON -->`` (a network download, a cluster, a pip install) is skipped with
that reason; every other block must exit 0. Blocks run in a temporary folder, so the files they write stay out of
the checkout; blocks that need data create it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"(?:<!-- not-run: (?P<reason>[^>]*?) -->\s*\n)?```(?P<lang>python|bash)\n(?P<code>.*?)```",
                    re.S)


def blocks() -> list[tuple[int, str, str, str | None]]:
    text = README.read_text("utf-8")
    return [(text[:m.start()].count("\n") + 1, m["lang"], m["code"], m["reason"]) for m in _BLOCK.finditer(text)]


def test_readme_has_blocks_and_every_skip_says_why():
    found = blocks()
    assert sum(lang == "python" for _, lang, _, _ in found) >= 8
    assert all(reason is None or len(reason.strip()) > 10 for *_, reason in found)


@pytest.mark.slow
@pytest.mark.parametrize("line,lang,code,reason", blocks(), ids=[f"line{b[0]}-{b[1]}" for b in blocks()])
def test_readme_block_runs_as_written(tmp_path, line, lang, code, reason):
    if reason is not None:
        pytest.skip(f"README line {line}: {reason}")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", code] if lang == "python" else ["bash", "-e", "-c", code]
    out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, f"README line {line} ({lang}) failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
