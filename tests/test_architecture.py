"""The library's shape: no import cycles, only layered subpackages at the top, small modules.

The layer order itself is import-linter's job (`make lint`, contracts in pyproject.toml); these tests cover what
its contracts cannot say.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "playground"
TOP_LEVEL_FILES = {"__init__.py", "__main__.py", "py.typed"}
MAX_MODULE_LINES = 400


def _import_graph() -> nx.DiGraph:
    """Module-level import graph of `playground`, lazy imports inside functions included (grimp sees them)."""
    graph = grimp.build_graph("playground", cache_dir=None)
    edges = nx.DiGraph()
    for module in graph.modules:
        edges.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            edges.add_edge(module, imported)
    return edges


def _contract_layers() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    return {name.strip() for layer in layers for name in layer.split("|")}


def test_no_import_cycle_inside_playground() -> None:
    cycles = [sorted(group) for group in nx.strongly_connected_components(_import_graph()) if len(group) > 1]
    assert cycles == [], f"modules that import each other (directly or through others): {cycles}"


def test_the_graph_sees_the_package() -> None:
    # Guards the cycle test against passing on an empty graph (a wrong package name, an import failure).
    graph = _import_graph()
    assert "playground.evaluation.stats" in graph
    assert graph.number_of_edges() > 50


def test_top_level_holds_only_subpackages() -> None:
    stray = sorted(
        entry.name
        for entry in PACKAGE.iterdir()
        if entry.name not in TOP_LEVEL_FILES
        and entry.name != "__pycache__"
        and not (entry / "__init__.py").is_file()
    )
    assert stray == [], f"put these in a layer's subpackage: {stray}"


def test_every_subpackage_is_a_layer_of_the_import_contract() -> None:
    subpackages = {entry.name for entry in PACKAGE.iterdir() if (entry / "__init__.py").is_file()}
    assert subpackages == _contract_layers(), (
        "add the new subpackage to [tool.importlinter] in pyproject.toml"
    )


def test_no_module_over_the_size_limit() -> None:
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these modules (over {MAX_MODULE_LINES} lines): {too_long}"
