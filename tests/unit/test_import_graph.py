"""The import graph keeps the layers (docs/architecture.md, "Layers and imports"): every ``import`` of every module
of hub/ and connectors/ is read with ``ast`` — function-level imports included — and checked against the rules.

    hub.domain      ← nothing of the hub but hub.domain, and only the standard library (no framework)
    hub.contract    ← hub.domain
    hub.adapters    ← hub.domain, hub.contract
    hub.service_layer ← hub.domain, hub.contract, hub.adapters, hub.config
    hub.reports     ← the above
    hub.api         ← the above, hub.reports, hub.demo (the city's division names)
    hub.demo        ← hub.domain, hub.contract, hub.adapters
    connectors.<department> ← hub.domain, hub.contract, connectors' shared modules, and of the service layer only
                        hub.service_layer.partner_views (the row type its event → row mapping returns)
    connectors.runner ← also hub.adapters, hub.service_layer, hub.config; imported only by the composition root
                        (hub.bootstrap) and hub.cli
    hub.bootstrap, hub.cli ← anything (hub.cli is the only importer of hub.cli: nobody)

And no import cycle: the modules imported at module level (not inside functions, not under TYPE_CHECKING) form
no strongly connected component of more than one module.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "connectors")

# layer -> the layers of ours it may import (its own layer always). A module's layer is the longest prefix listed.
ALLOWED: dict[str, tuple[str, ...]] = {
    "hub.domain": (),
    "hub.contract": ("hub.domain",),
    "hub.adapters": ("hub.domain", "hub.contract"),
    "hub.config": ("hub.domain",),
    "hub.service_layer": ("hub.domain", "hub.contract", "hub.adapters", "hub.config"),
    "hub.reports": ("hub.domain", "hub.contract", "hub.adapters", "hub.config", "hub.service_layer"),
    "hub.api": ("hub", "hub.domain", "hub.contract", "hub.adapters", "hub.config", "hub.service_layer", "hub.reports",
                "hub.demo"),
    "hub.demo": ("hub.domain", "hub.contract", "hub.adapters"),
    "hub.bootstrap": ("*",),
    "hub.cli": ("*",),
    # the command's sub-commands in their own modules (hub finding|supervision, hub evaluation|absorption)
    "hub.cli_supervision": ("*",),
    "hub.cli_evaluation": ("*",),
    "hub": (),  # hub/__init__.py
    "connectors.runner": ("hub.domain", "hub.contract", "hub.adapters", "hub.config", "hub.service_layer", "connectors"),
    # hub.service_layer.partner_views is the port a department's mapping writes to (PartnerRow, the view names):
    # the one module of the service layer a connector package may import.
    "connectors": ("hub.domain", "hub.contract", "connectors", "hub.service_layer.partner_views"),
}
# Modules only the composition root and the command may import.
ENTRY_ONLY = {"connectors.runner": ("hub.bootstrap", "hub.cli")}
STDLIB = set(sys.stdlib_module_names)


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


class _Imports(ast.NodeVisitor):
    """(imported module, line, at module level?) for every import of one module."""

    def __init__(self, name: str, is_package: bool):
        self.package = name if is_package else name.rpartition(".")[0]
        self.found: list[tuple[str, int, bool]] = []
        self.depth = 0  # inside a function, or under ``if TYPE_CHECKING``

    def _nested(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If):
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self._nested(node)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            self.found.append((alias.name, node.lineno, self.depth == 0))

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.level:
            base = self.package.split(".")
            base = base[:len(base) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        for alias in node.names:  # ``from pkg import module`` imports the module
            child = f"{module}.{alias.name}"
            self.found.append((child if child in MODULES else module, node.lineno, self.depth == 0))


def _imports(name: str) -> list[tuple[str, int, bool]]:
    path = MODULES[name]
    visitor = _Imports(name, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return list(dict.fromkeys(visitor.found))


IMPORTS = {name: _imports(name) for name in MODULES}


def _layer(module: str) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in ALLOWED:
            return ".".join(parts[:n])
    raise AssertionError(f"{module}: no layer (add it to ALLOWED and to docs/architecture.md)")


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def _within(module: str, prefix: str) -> bool:
    """``module`` is ``prefix`` or inside it; the layer ``hub`` is hub/__init__.py alone, not the whole tree."""
    return module == prefix or (prefix != "hub" and module.startswith(prefix + "."))


def forbidden_edges(imports: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    """Every import that breaks a layer rule, as 'module:line imports target (why)'."""
    bad = []
    for name, found in imports.items():
        layer = _layer(name)
        allowed = ALLOWED[layer]
        for target, line, _ in found:
            top = target.split(".")[0]
            if not _ours(target):
                if layer == "hub.domain" and top not in STDLIB:
                    bad.append(f"{name}:{line} imports {target} (the domain uses the standard library only)")
                continue
            for entry, importers in ENTRY_ONLY.items():
                if _within(target, entry) and not _within(name, entry) and _layer(name) not in importers:
                    bad.append(f"{name}:{line} imports {target} (only {', '.join(importers)} may)")
            if _within(target, layer) or "*" in allowed:
                continue
            if not any(_within(target, a) for a in allowed):
                bad.append(f"{name}:{line} imports {target} (layer {layer} may import {', '.join(allowed) or 'only itself'})")
    return bad


def cycles(imports: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    """Strongly connected components of more than one module over module-level imports (Tarjan)."""
    graph = {name: sorted({t for t, _, top in found if top and t in imports and t != name})
             for name, found in imports.items()}
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth ≤ the number of modules
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read_from_every_module():
    assert "hub.domain.identifiers" in MODULES and "connectors.runner" in MODULES
    assert any(not top for found in IMPORTS.values() for _, _, top in found), "function-level imports are read too"


def test_no_module_imports_across_a_layer_rule():
    assert forbidden_edges(IMPORTS) == []


def test_no_import_cycle():
    assert cycles(IMPORTS) == []


# The checks themselves can fail: each rule on a made-up graph.
@pytest.mark.parametrize("module, target, top, says", [
    ("hub.domain.identifiers", "hub.adapters.orm", True, "layer hub.domain"),
    ("hub.domain.identifiers", "sqlalchemy", True, "standard library"),
    ("hub.service_layer.reconcile", "hub.api.schema", False, "layer hub.service_layer"),
    ("hub.service_layer.reconcile", "hub.cli", False, "layer hub.service_layer"),
    ("hub.reports.base", "hub.api.schema", False, "layer hub.reports"),
    ("hub.adapters.orm", "hub.service_layer.reconcile", False, "layer hub.adapters"),
    ("connectors.police", "hub.service_layer.reconcile", True, "layer connectors"),
    ("connectors.police.rows", "hub.adapters.orm", True, "layer connectors"),
    ("hub.api.app", "connectors.runner", False, "only hub.bootstrap, hub.cli"),
    ("hub", "hub.adapters.orm", False, "layer hub may"),
])
def test_a_forbidden_edge_is_named(module, target, top, says):
    found = forbidden_edges({module: [(target, 7, top)]})
    assert len(found) >= 1 and says in found[0] and found[0].startswith(f"{module}:7 imports {target}")


def test_allowed_edges_pass_the_rules():
    assert forbidden_edges({"hub.api.schema": [("hub.service_layer.reconcile", 1, True), ("strawberry", 2, True)],
                            "hub.bootstrap": [("connectors.runner", 3, False)],
                            "hub.domain.registry": [("hub.domain.identifiers", 4, True), ("datetime", 5, True)]}) == []


def test_a_cycle_is_found_and_a_function_level_import_breaks_none():
    graph = {"a": [("b", 1, True)], "b": [("c", 1, True)], "c": [("a", 1, True)], "d": [("a", 1, True)]}
    assert cycles(graph) == [["a", "b", "c"]]
    graph["c"] = [("a", 1, False)]  # imported inside a function: no cycle at import time
    assert cycles(graph) == []
