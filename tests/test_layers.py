"""The package layers (docs/architecture.md#packages): who may import whom, what an import
costs, and one exception root.

The import graph is read from the source with ``ast`` (function-level imports included, those
under ``if TYPE_CHECKING:`` left out), at the level of components: a sub-package
(``jobslab.hosting``) or a top-level module (``jobslab.jobs``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import jobslab
from jobslab.errors import JobslabError

SRC = Path(jobslab.__file__).resolve().parent

#: Components that must never import another (the left never imports the right).
FORBIDDEN = {
    "jobslab.errors": "*",  # imports nothing of jobslab
    "jobslab.ports": "*",
    "jobslab.paths": "*",
    "jobslab.pins": "*",
    "jobslab.settings": "*",
    "jobslab.processes": {"jobslab", "jobslab.hosting", "jobslab.cluster", "jobslab.selfhosted",
                          "jobslab.local", "jobslab.schedules"},
    "jobslab.schedules": {"jobslab.hosting", "jobslab.local", "jobslab.cluster",
                          "jobslab.selfhosted", "jobslab.processes", "jobslab.jobs"},
    "jobslab.selfhosted": {"jobslab.hosting", "jobslab.cluster", "jobslab.local"},
    "jobslab.cluster": {"jobslab.hosting", "jobslab.selfhosted", "jobslab.local"},
    "jobslab.local": {"jobslab.hosting", "jobslab.cluster", "jobslab.selfhosted"},
    "jobslab.jobs": {"jobslab.hosting", "jobslab.cluster", "jobslab.selfhosted", "jobslab.local"},
    "jobslab.checks": {"jobslab.grading", "jobslab.cluster", "jobslab.local"},
    "jobslab.progress": {"jobslab.hosting", "jobslab.cluster", "jobslab.selfhosted",
                         "jobslab.local", "jobslab.checks", "jobslab.grading"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _component(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (SRC.parent / rel).with_suffix(".py").is_file() or (SRC.parent / rel).is_dir()


def imports_of(source: str, module: str, is_package: bool) -> set[str]:
    """The jobslab modules ``module`` imports (resolving relative imports)."""
    tree = ast.parse(source)
    type_checking = {id(n) for node in ast.walk(tree)
                     if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                     for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names
                         if _is_module(f"{origin}.{alias.name}"))
    return {name for name in found if name == "jobslab" or name.startswith("jobslab.")}


def component_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        targets = imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        edges = graph.setdefault(_component(module), set())
        edges.update(_component(t) for t in targets if _component(t) != _component(module))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_import_reader_sees_function_level_and_relative_imports() -> None:
    source = ("from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
              "from .. import ports\nif TYPE_CHECKING:\n    from ..cluster import KindBackend\n"
              "def f():\n    from ..hosting import _serve\n")
    found = imports_of(source, "jobslab.selfhosted._backend", is_package=False)
    assert "jobslab.ports" in found and "jobslab.hosting._serve" in found
    assert not any(name.startswith("jobslab.cluster") for name in found)


def test_no_import_cycle_between_components() -> None:
    graph = component_graph()
    assert "jobslab.hosting" in graph and "jobslab.processes" in graph
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


@pytest.mark.parametrize("component", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(component: str) -> None:
    imported = component_graph().get(component, set())
    forbidden = FORBIDDEN[component]
    wrong = sorted(imported if forbidden == "*" else imported & set(forbidden))
    assert not wrong, f"{component} imports {wrong}"


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return set(out.split())


@pytest.mark.slow  # a fresh interpreter
def test_importing_selfhosted_loads_neither_pandas_nor_the_cluster_package() -> None:
    loaded = _loaded_after("import jobslab.selfhosted")
    assert "jobslab.selfhosted" in loaded
    assert not {"pandas", "jobslab.cluster", "jobslab.hosting", "uvicorn"} & loaded


@pytest.mark.slow  # a fresh interpreter
def test_importing_processes_or_cluster_loads_no_hosting() -> None:
    loaded = _loaded_after("import jobslab.processes, jobslab.cluster")
    assert "jobslab.cluster" in loaded
    assert not {"pandas", "jobslab.hosting", "jobslab.selfhosted", "uvicorn"} & loaded


@pytest.mark.slow  # a fresh interpreter
def test_a_local_backend_loads_neither_real_dapr_package() -> None:
    loaded = _loaded_after("from jobslab.hosting import get_backend; get_backend('local')")
    assert "jobslab.hosting._local" in loaded
    assert not {"jobslab.cluster", "jobslab.selfhosted", "jobslab.hosting._realdapr"} & loaded


def _all_modules() -> list[str]:
    names = ["jobslab"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="jobslab."):
        if not info.name.endswith("__main__") and info.name != "jobslab.processes.guard":
            names.append(info.name)
    return names


def test_every_exception_jobslab_defines_has_one_root() -> None:
    outside = []
    for name in _all_modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == name and not attr.startswith("_")
                    and not issubclass(value, JobslabError)):
                outside.append(f"{name}.{attr}")
    assert not outside, f"not under JobslabError: {outside}"


PACKAGES = [*sorted(p.parent.name for p in SRC.glob("*/__init__.py")), "jobslab"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_declares_its_public_names(package: str) -> None:
    name = package if package == "jobslab" else f"jobslab.{package}"
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def _readme_layout() -> str:
    readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What is in here", 1)[1]
    return section.split("```", 2)[1]


@pytest.mark.slow  # git ls-files
def test_readme_layout_names_every_top_level_folder_and_every_library_part() -> None:
    layout = _readme_layout()
    root = SRC.parents[1]
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.split()
    folders = {path.split("/")[0] for path in tracked if "/" in path and not path.startswith(".")}
    missing = sorted(f"{f}/" for f in folders if f"{f}/" not in layout)
    parts = {p.name + "/" for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    parts |= {p.name for p in SRC.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    missing += sorted(part for part in parts if part not in layout)
    assert not missing, f"README's layout section does not mention: {missing}"
