"""The package's import graph (issue 14): no cycles, no private names taken from another
module, one version string.

The graph is read from the source with `ast` (every ``import`` of an eisfit module,
including those inside functions and ``if TYPE_CHECKING:``, since a cycle through either
is still two modules that cannot be read without each other).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import eisfit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "eisfit"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(imported eisfit module, names taken from it) for every import in ``path``."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub, []) if sub in modules else (target, [alias.name]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    out = []
    for target, names in found:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.append((target, names))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {n: {t for t, _ in _imports(n, p, modules)} for n, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_private_names_taken_from_another_module() -> None:
    modules = _modules()
    taken = [
        f"{name} takes {target}.{imported}"
        for name, path in modules.items()
        for target, names in _imports(name, path, modules)
        for imported in names
        if imported.startswith("_") and not imported.startswith("__")
    ]
    assert taken == []


def test_one_version_string() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == eisfit.__version__


def test_every_subpackage_is_installed() -> None:
    """pyproject lists the packages by hand (circuits/ is installed as eisfit.models): a
    subpackage missing from that list works in a checkout and is absent from a wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])  # fmt: skip
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, sorted(found - listed)
    assert "eisfit.models" in listed
