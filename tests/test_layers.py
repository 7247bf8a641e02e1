"""The package's floors: every import points down or sideways, and no modules import each other in a loop.

The floors, from the ground up (a module may import its own floor and the floors below it):

    errors < names < store < ingest < incidents < simulate < link < review < estimate < releases < report < web < demo < cli < face

``errors`` also holds ``undercount._version`` and ``undercount._lazy``; ``incidents`` also holds ``displacement``
(counts of displaced people share its files and places); ``simulate`` writes lists and imports them through
ingest, and no stage imports it; ``face`` is ``undercount/__init__.py``, which hands the stage
verbs on. Every import counts, also one inside a function or under ``TYPE_CHECKING``: a lazy import
is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "undercount"

FLOORS = ("errors", "names", "store", "ingest", "incidents", "simulate", "link", "review", "estimate", "releases", "report",
          "web",
          "demo", "cli", "face")
_FLOOR_OF = {"_version": "errors", "_lazy": "errors", "__main__": "cli", "": "face", "displacement": "incidents"}


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def floor(module: str) -> str:
    """The floor of a dotted module name of the package."""
    top = module.split(".")[1] if "." in module else ""
    return _FLOOR_OF.get(top, top)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its file."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # ``from P import m`` imports the module P.m when there is one, else a name of P.
            # (P's __init__ runs for every import of a module under it, so it is no edge of its own.)
            target = _resolve(module, path.name == "__init__.py", node)
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]
        else:
            continue
        found |= {n for n in names if n in MODULES and n != module}
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_floor() -> None:
    unknown = sorted({floor(m) for m in MODULES} - set(FLOORS))
    assert not unknown, f"modules on no floor (add them to FLOORS in this test): {unknown}"


@pytest.mark.parametrize("lower", ["errors", "names", "store"])
def test_the_ground_floors_import_nothing_above_them(lower: str) -> None:
    rank = FLOORS.index(lower)
    upward = [(m, t) for m, targets in GRAPH.items() if floor(m) == lower
              for t in targets if FLOORS.index(floor(t)) > rank]
    assert not upward, f"{lower} reaches up: {upward}"


def test_no_import_runs_up_a_floor() -> None:
    upward = sorted((m, t) for m, targets in GRAPH.items() for t in targets
                    if FLOORS.index(floor(t)) > FLOORS.index(floor(m)))
    assert not upward, "imports that run up a floor (module -> imported): " + "; ".join(f"{m} -> {t}" for m, t in upward)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    cycles = _cycles(GRAPH)
    assert not cycles, f"modules that import each other in a loop: {cycles}"


def test_the_checks_can_fail() -> None:
    # The walk sees a lazy upward import and a loop when they are there.
    graph = {"undercount.store.a": {"undercount.web.b"}, "undercount.web.b": {"undercount.store.a"}}
    assert _cycles(graph) == [["undercount.store.a", "undercount.web.b"]]
    assert floor("undercount.store.case") == "store" and floor("undercount") == "face"
    assert "undercount.store.fields" in GRAPH["undercount.ingest.spec"]


_SQL = __import__("re").compile(r"\b(SELECT|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+TABLE)\b")


def _sql_strings(path: Path) -> list[str]:
    """String constants of a module that read as SQL (docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings and _SQL.search(n.value)]


@pytest.mark.parametrize("floor_name", ["web", "cli"])
def test_the_app_and_the_command_line_hold_no_sql(floor_name: str) -> None:
    found = {m: _sql_strings(MODULES[m]) for m in MODULES if floor(m) == floor_name}
    assert not {m: s for m, s in found.items() if s}, "SQL belongs to the stage libraries (review, store ...)"
    assert _sql_strings(MODULES["undercount.store.accounts"])  # the check sees SQL where there is some
