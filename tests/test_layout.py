"""The package's layout: no import cycle, private modules behind the facade, ``__all__`` as the public surface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nlu_lite

PACKAGE = Path(nlu_lite.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Every import statement of every module (module level, function level and TYPE_CHECKING blocks alike),
    as edges between the package's modules."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[:len(here) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                           for alias in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_layout_has_no_import_cycle():
    cycle = _cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_layout_cycle_check_can_fail():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]


def test_layout_graph_sees_function_level_and_type_checking_imports():
    graph = import_graph()
    assert "nlu_lite.pipeline._pipeline" in graph["nlu_lite.tools._vectors"]  # a TYPE_CHECKING import
    assert "nlu_lite.pipeline._load" in graph["nlu_lite.cli._main"]  # a function-level import


def test_layout_modules_below_the_top_are_private():
    """Each folder is one stage or concern; its modules are private (``_name.py``) behind the facade."""
    public_packages = {"nlu_lite", "nlu_lite.levels", "nlu_lite.runtimes", "nlu_lite.cache", "nlu_lite.provenance",
                       "nlu_lite.cli", "nlu_lite.pipeline", "nlu_lite.text", "nlu_lite.models", "nlu_lite.tools",
                       "nlu_lite.samples"}
    public_modules = {"nlu_lite.errors", "nlu_lite.__main__"}
    for name, path in _modules().items():
        if path.name == "__init__.py":
            assert name in public_packages, name
        else:
            assert name in public_modules or name.rsplit(".", 1)[1].startswith("_"), name


def test_layout_all_is_the_facade():
    expected = {"__version__", "load", "catalog", "search", "Pipeline", "NoWordpieceWarning", "errors", "to_numpy",
                "plot_embeddings", "plot_similarity", "terms", "patterns", "provenance", "to_wide", "aggregate",
                "embed", "similarity", "nearest", "NullVectorWarning", "EmbeddingTransformer", "sample_notes",
                "compare", "plot_compare", "quantize", "index", "VectorIndex"}
    assert set(nlu_lite.__all__) == expected
    for name in nlu_lite.__all__:
        assert getattr(nlu_lite, name) is not None
    assert set(dir(nlu_lite)) >= expected


@pytest.mark.parametrize("name", ["_load", "Engine", "levels", "runtimes"])
def test_layout_private_names_are_not_facade_attributes(name):
    if name in ("levels", "runtimes"):  # subpackages are reachable as attributes once imported, not exported
        assert name not in nlu_lite.__all__
        return
    with pytest.raises(AttributeError):
        getattr(nlu_lite, name)
