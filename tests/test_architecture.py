"""The shape of ``recsys_core``, read from its source (issue 15).

- no import cycle between its modules (an import inside a function counts);
- no module over 600 lines;
- streamlit only under ``recsys_core/ui``.

``KNOWN_CYCLES`` and ``KNOWN_LONG`` list what the restructuring has not reached yet. They only
shrink: a listed module that no longer breaks the rule fails the test until it is taken off
the list, so the lists always say exactly what is left.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "recsys_core"
MAX_LINES = 600

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Each cycle as the set of its modules (names relative to ``recsys_core``)."""

MAX_FUNCTION_LINES = 80
LONG_REASON = "# long:"
"""A function over MAX_FUNCTION_LINES lines says why on its ``def`` line or the line above it
(``# long: <reason>``); better, it is split into named steps."""

KNOWN_LONG_FUNCTIONS: set[str] = set()
"""``<module's last part>.<function>`` of the long functions the restructuring has not reached."""

KNOWN_LONG: set[str] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path, node: ast.AST) -> list[str]:
    """The recsys_core modules an import statement names (relative to the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = []
    if isinstance(node, ast.Import):
        targets = [
            a.name.removeprefix("recsys_core").lstrip(".")
            for a in node.names
            if a.name == "recsys_core" or a.name.startswith("recsys_core.")
        ]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            parts = package.split(".") if package else []
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([node.module] if node.module else []))
        elif node.module and (
            node.module == "recsys_core" or node.module.startswith("recsys_core.")
        ):
            base = node.module.removeprefix("recsys_core").lstrip(".")
        else:
            return []
        for alias in node.names:
            child = f"{base}.{alias.name}" if base else alias.name
            targets.append(child if child in MODULES else base)
    found = []
    for target in targets:
        while target not in MODULES and "." in target:
            target = target.rpartition(".")[0]
        if target in MODULES and target != name:
            found.append(target)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        graph[name] = {t for node in imports for t in _imported(name, path, node)}
        graph[name].discard("")  # `from recsys_core import x` of a name, not a module
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.add(frozenset(component))
    return found


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == {frozenset({"a", "b", "c"})}


def test_the_import_reader_sees_imports_inside_functions():
    assert "errors" in _graph()["config"] or "errors" in _graph()["store.models"]


def test_no_new_import_cycle():
    cycles = _cycles(_graph())
    new = [sorted(c) for c in cycles if c not in KNOWN_CYCLES]
    assert not new, f"import cycles in recsys_core: {new}"


def test_known_cycles_are_still_there():
    """A cycle that was broken comes off KNOWN_CYCLES (the list says what is left)."""
    gone = [sorted(c) for c in KNOWN_CYCLES - _cycles(_graph())]
    assert not gone, f"take these off KNOWN_CYCLES: {gone}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_length(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    if name in KNOWN_LONG:
        assert lines > MAX_LINES, f"{name} has {lines} lines now: take it off KNOWN_LONG"
    else:
        assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES})"


def test_streamlit_only_in_ui():
    for name, path in MODULES.items():
        if name == "ui" or name.startswith("ui."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "streamlit" or n.startswith("streamlit.") for n in names), name


def _long_functions() -> set[str]:
    found = set()
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES:
                continue
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            said = lines[node.lineno - 1] + "\n" + lines[first - 2] if first > 1 else ""
            if LONG_REASON not in said:
                found.add(f"{name.rpartition('.')[2]}.{node.name}")
    return found


def test_no_long_function_without_a_reason():
    new = sorted(_long_functions() - KNOWN_LONG_FUNCTIONS)
    assert not new, (
        f"functions over {MAX_FUNCTION_LINES} lines: {new}; split them, or say why with "
        f"'{LONG_REASON} <reason>' on the def line or the line above"
    )


def test_known_long_functions_are_still_long():
    gone = sorted(KNOWN_LONG_FUNCTIONS - _long_functions())
    assert not gone, f"take these off KNOWN_LONG_FUNCTIONS: {gone}"
