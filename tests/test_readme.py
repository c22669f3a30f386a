"""Every Python and shell block of README.md and of every docs/*.md page runs as written, offline, in a fresh
process.

A block preceded by ``<!-- not-run: REASON -->`` (a network download, a cluster, a pip install) is skipped with
that reason; every other block must exit 0. Blocks run in a temporary folder, so the files they write stay out of
the checkout and no ``../shared`` is beside them (as on a fresh clone); blocks that need data create it or use
``nlu_lite.sample_notes()``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:<!-- not-run: (?P<reason>[^>]*?) -->\s*\n)?```(?P<lang>python|bash)\n(?P<code>.*?)```",
                    re.S)
_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


def blocks(pages: list[Path] = PAGES) -> list[tuple[str, int, str, str, str | None]]:
    """(page relative to the root, line, language, code, not-run reason) of every block, page by page."""
    found = []
    for page in pages:
        text = page.read_text("utf-8")
        name = page.relative_to(ROOT).as_posix()
        found += [(name, text[:m.start()].count("\n") + 1, m["lang"], m["code"], m["reason"])
                  for m in _BLOCK.finditer(text)]
    return found


def test_readme_and_docs_have_blocks_and_every_skip_says_why():
    found = blocks()
    assert sum(lang == "python" for _, _, lang, _, _ in found) >= 16
    assert sum(page == "README.md" and lang == "python" for page, _, lang, _, _ in found) >= 3
    assert all(reason is None or len(reason.strip()) > 10 for *_, reason in found)


def test_readme_and_docs_runnable_blocks_need_no_shared_data():
    """Blocks run in a temporary folder, as on a fresh clone: one that reads ../shared could only skip its work."""
    readers = [f"{page}:{line}" for page, line, _, code, reason in blocks() if reason is None and "shared/data" in code]
    assert not readers, f"runnable blocks reading ../shared/data (use nlu_lite.sample_notes()): {readers}"


def test_readme_and_docs_relative_links_resolve():
    """Links and pictures between the README and the docs/ pages point at files that exist."""
    broken = []
    for page in PAGES:
        for m in _LINK.finditer(page.read_text("utf-8")):
            target = m["target"]
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_readme_stays_a_short_path_and_lists_every_docs_page():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert readme.count("\n") < 250
    for heading in ("## Install", "## Test", "## Quick start", "## Documentation"):
        assert f"\n{heading}\n" in readme, heading
    missing = [p.name for p in PAGES[1:] if f"](docs/{p.name})" not in readme]
    assert not missing, f"docs pages not in the README's table of contents: {missing}"


def test_blocks_names_each_page_and_line():
    found = [(line, lang, code, reason) for _, line, lang, code, reason in blocks([ROOT / "README.md"])]
    assert found and all(lang in ("python", "bash") for _, lang, _, _ in found)
    text = (ROOT / "README.md").read_text("utf-8").splitlines()
    assert all(text[line - 1].startswith(("```", "<!-- not-run:")) for line, *_ in found)  # its fence or skip note


@pytest.mark.slow
@pytest.mark.parametrize("page,line,lang,code,reason", blocks(), ids=[f"{b[0]}:{b[1]}-{b[2]}" for b in blocks()])
def test_readme_block_runs_as_written(tmp_path, page, line, lang, code, reason):
    if reason is not None:
        pytest.skip(f"{page} line {line}: {reason}")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", code] if lang == "python" else ["bash", "-e", "-c", code]
    out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, f"{page} line {line} ({lang}) failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
