#!/usr/bin/env python3
"""The shape of the code as figures: what issue 12 measures and tests/test_structure.py keeps.

    .venv/bin/python bin/structure.py [--mypy] [ROOT]

Prints JSON: the largest Python module of coding/ and every module over MODULE_LIMIT lines, the
number of top-level entries of coding/, the import circles between coding's modules (imports
inside functions count too: a lazy import hides a circle, it does not remove it; imports under
``if TYPE_CHECKING:`` do not), the imports that go against the layers, and the ratio of test
lines to app lines. With --mypy also the number of mypy errors.
Plain standard library (ast), so it runs before anything is installed.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

MODULE_LIMIT = 600
# Not part of the app's layering: measurement code may import anything.
OUTSIDE_LAYERS = ("coding.benchmarks", "coding.migrations")

# Which layer may import which (STYLE.md: views → services/access → models; analysis and language
# read models below the views; tasks call plain functions). A module's layer is the first prefix
# that matches its dotted name. Anything not listed here may import only "base".
LAYERS: dict[str, str] = {
    "coding.views": "views",
    "coding.urls": "views",
    "coding.management": "commands",
    "coding.web": "web",
    "coding.admin": "views",
    "coding.tasks": "tasks",
    "coding.services": "services",
    "coding.access": "access",
    "coding.analysis": "read",
    "coding.language": "read",
    "coding.exports": "io",
    "coding.exchange": "io",
    "coding.importers": "io",
    "coding.analysis.transcript_page": "read",
    "coding.forms": "forms",
    "coding.management.demo": "commands",
    "coding.models": "models",
    "coding.nlp": "base",
    "coding.offsets": "base",
    "coding.apps": "apps",
    "coding": "base",
}
# layer -> the layers it may import (besides itself).
MAY_IMPORT: dict[str, set[str]] = {
    "views": {"web", "services", "access", "read", "io", "forms", "models", "base", "tasks"},
    "commands": {"services", "access", "read", "io", "forms", "models", "base", "tasks"},
    # The middleware sets tasks' no-GET-runs-a-job mark (tasks never imports web).
    "web": {"models", "base", "tasks"},
    # Services enqueue jobs through tasks' runner and call the plain functions of io and read
    # models (an import writes the word index; an export reads the selection).
    "services": {"access", "read", "io", "forms", "models", "base", "tasks"},
    "tasks": {"models", "base"},  # job bodies are looked up by dotted path, not imported
    "access": {"models", "base"},
    "read": {"models", "base", "io", "forms"},
    "io": {"read", "models", "base", "forms"},
    "forms": {"read", "io", "models", "base"},
    "models": {"base"},
    "base": {"models"},
    # The app config registers the deploy checks of coding.web.checks.
    "apps": {"web", "models", "base"},
}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _in_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                return True
    return False


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The coding modules ``name`` imports (``from pkg import sub`` of a submodule: sub)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if _in_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif target in modules:
                    found.add(target)
    found.discard(name)
    return found


def layer_of(name: str) -> str:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return LAYERS[prefix]
    return "base"


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
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
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def untyped_parameters(paths: list[Path]) -> tuple[int, int]:
    """Parameters without a type hint (self and cls aside), and how many are the acting user."""
    untyped = users = 0
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = node.args
            params = a.posonlyargs + a.args + a.kwonlyargs + [p for p in (a.vararg, a.kwarg) if p]
            for param in params:
                if param.annotation is None and param.arg not in ("self", "cls"):
                    untyped += 1
                    users += param.arg in ("user", "actor")
    return untyped, users


def count_lines(paths: list[Path]) -> int:
    return sum(len(p.read_text().splitlines()) for p in paths)


def measure(root: Path) -> dict:
    app = root / "coding"
    files = sorted(p for p in app.rglob("*.py") if "migrations" not in p.parts)
    modules = {module_name(root, p): p for p in files}
    names = set(modules)
    graph = {
        n: imports_of(p, n, names) for n, p in modules.items() if not n.startswith(OUTSIDE_LAYERS)
    }
    graph = {n: {m for m in deps if not m.startswith(OUTSIDE_LAYERS)} for n, deps in graph.items()}
    against = sorted(
        f"{n} -> {m}"
        for n, deps in graph.items()
        for m in deps
        if layer_of(m) != layer_of(n) and layer_of(m) not in MAY_IMPORT[layer_of(n)]
    )
    sizes = {module_name(root, p): len(p.read_text().splitlines()) for p in files}
    largest = max(sizes, key=sizes.__getitem__)
    tests = sorted((root / "tests").rglob("*.py"))
    app_lines = count_lines(files)
    test_lines = count_lines(tests)
    untyped, untyped_users = untyped_parameters(
        [p for p in files if not module_name(root, p).startswith(OUTSIDE_LAYERS)]
    )
    return {
        "untyped_parameters": untyped,
        "untyped_user_parameters": untyped_users,
        "largest_module": {"module": largest, "lines": sizes[largest]},
        "modules_over_limit": {
            n: s for n, s in sorted(sizes.items(), key=lambda kv: -kv[1]) if s > MODULE_LIMIT
        },
        "module_limit": MODULE_LIMIT,
        "top_level_entries": sorted(
            p.name
            for p in app.iterdir()
            if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
            and p.name not in ("__init__.py", "migrations")
        ),
        "import_circles": circles(graph),
        "imports_against_layers": against,
        "app_lines": app_lines,
        "test_lines": test_lines,
        "test_to_app": round(test_lines / app_lines, 2),
    }


def mypy_errors(root: Path) -> int | None:
    venv_mypy = root / ".venv" / "bin" / "mypy"
    if not venv_mypy.exists():
        return None
    out = subprocess.run(  # noqa: S603 (our own venv's mypy, fixed arguments)
        [str(venv_mypy), "--no-error-summary", "coding"], cwd=root, capture_output=True, text=True
    )
    return sum(1 for line in out.stdout.splitlines() if ": error:" in line)


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0] if args else Path(__file__).resolve().parent.parent)
    figures = measure(root)
    figures["top_level_count"] = len(figures["top_level_entries"])
    if "--mypy" in argv:
        figures["mypy_errors"] = mypy_errors(root)
    print(json.dumps(figures, indent=2, ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
